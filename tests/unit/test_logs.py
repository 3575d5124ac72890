"""console.logs: secrets never reach the log file; nothing goes to the terminal."""

from __future__ import annotations

import logging

import pytest

from console.logs import redact, set_level, setup_logging

SECRET = "5f0c3d2e-aaaa-bbbb-cccc-0123456789ab"


@pytest.mark.parametrize("text, kept", [
    (f"Authorization: PVEAPIToken=root@pam!labconsole={SECRET}", "Authorization: "),
    (f"{{'Authorization': 'PVEAPIToken=root@pam!labconsole={SECRET}', 'Accept': 'json'}}", "'Accept': 'json'"),
    (f"header PVEAPIToken=root@pam!labconsole={SECRET} sent", "PVEAPIToken=root@pam!labconsole=***"),
    (f'headers={{"Authorization": "Basic {SECRET}"}}', '"Authorization": "***"'),
    (f'{{"vrrp": {{"auth_data": "{SECRET}", "state": 2}}}}', '"state": 2'),
    (f"    auth_pass {SECRET}", "auth_pass ***"),
    (f"url?password={SECRET}&username=root@pam", "username=root@pam"),
    (f'token_secret = "{SECRET}"', "token_secret = "),
    (f"Cookie: PVEAuthCookie={SECRET}; path=/", "path=/"),
    (f"url 'https://monitor:{SECRET}@traefik.lan:8443/api' is bad", "https://monitor:***@traefik.lan:8443/api"),
    (f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}\n-----END OPENSSH PRIVATE KEY-----", "REDACTED"),
])
def test_redact_removes_the_secret_and_keeps_the_rest(text, kept):
    out = redact(text)
    assert SECRET not in out
    assert kept in out


def test_redact_leaves_references_and_plain_text_alone():
    text = 'token_secret_file = "/etc/t" password_env=TRAEFIK_PW vmid=101 node=pve1'
    assert redact(text) == text


@pytest.mark.parametrize("text", [
    "token_secret: abc123",
    "token_secret = 'x'",
    "token_secret:abc",
    "password: hunter",
    "password: hunter2 was sent",
    "{'password': 'hunter'}",
    "secret: s3cr3t, node=pve1",
])
def test_redact_masks_every_form_of_a_key_value(text):
    out = redact(text)
    assert "***" in out
    for value in ("abc123", "'x'", "abc", "hunter", "hunter2", "s3cr3t"):
        assert value not in out.replace("***", "")


def test_redact_keeps_a_message_that_names_the_key():
    """The config error for an inline secret must survive the log filter word for word."""
    text = ("config.toml: clusters.home.proxmox.token_secret: secrets are never written in the config file: "
            'put it in a file and set token_secret_file = "PATH"')
    assert redact(text) == text


@pytest.fixture
def isolated_logging():
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])
    set_level("info", debug=False)
    logging.captureWarnings(False)


def test_log_file_gets_records_redacted_including_tracebacks(tmp_path, capsys, isolated_logging):
    path = setup_logging("info", path=tmp_path / "log" / "labconsole.log")
    log = logging.getLogger("console.sources.proxmox")
    log.info("GET /nodes headers=%s", {"Authorization": f"PVEAPIToken=root@pam!lab={SECRET}"})
    try:
        raise RuntimeError(f"request failed: password={SECRET}")
    except RuntimeError:
        log.exception("poll failed")
    log.debug("not at info level")
    logging.getLogger().handlers[0].flush()
    text = path.read_text()
    assert "GET /nodes headers=" in text and "poll failed" in text and "RuntimeError" in text
    assert SECRET not in text
    assert "not at info level" not in text
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""  # never the terminal


def test_debug_level_and_noisy_libraries(tmp_path, isolated_logging):
    setup_logging("info", debug=False, path=tmp_path / "a.log")
    assert logging.getLogger("asyncssh").getEffectiveLevel() == logging.WARNING
    set_level("info", debug=True)
    assert logging.getLogger().level == logging.DEBUG
    assert logging.getLogger("asyncssh").getEffectiveLevel() == logging.DEBUG
    set_level("error")
    assert logging.getLogger("console").getEffectiveLevel() == logging.ERROR


def test_unwritable_log_dir_still_runs_silently(tmp_path, capsys, isolated_logging):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert setup_logging(path=blocker / "log" / "labconsole.log") is None
    logging.getLogger("console").error("dropped")
    assert capsys.readouterr().err == ""
