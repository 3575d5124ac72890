"""console.cli: exit codes, the config sub-commands, and no tracebacks for the operator."""

from __future__ import annotations

import logging
import subprocess
import sys
import types
from pathlib import Path

import pytest

from console import cli

SECRET = "0badc0de-1111-2222-3333-444455556666"
VALID = """\
default_cluster = "home"
[clusters.home.proxmox]
endpoints = ["https://10.0.0.1:8006"]
token_id = "root@pam!labconsole"
token_secret_file = "home.token"
[clusters.lab]
read_only = true
[clusters.lab.proxmox]
endpoints = ["https://10.0.0.2:8006"]
token_id = "root@pam!labconsole"
token_secret_file = "home.token"
"""
BAD = """\
default_cluster = "home"
[clusters.home.proxmox]
endpoints = ["ftp://10.0.0.1"]
token_id = "root@pam!labconsole"
token_secret = "inline-secret-value"
"""


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Private platformdirs locations and restored logging for in-process cli.main()."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.delenv("LABCONSOLE_CONFIG", raising=False)
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield tmp_path
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])
    logging.captureWarnings(False)


def config_file(tmp_path: Path, text: str = VALID) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    (tmp_path / "home.token").write_text("token\n")
    return path


def run_cli(*args: str, env_extra: dict | None = None, tmp_path: Path) -> subprocess.CompletedProcess:
    """The real entry point in a fresh interpreter, as an operator would run it."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CONFIG_HOME": str(tmp_path / "cfg"), **(env_extra or {})}
    code = "import sys; from console.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=60)


def test_bad_config_lists_problems_exit_2_no_traceback(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(BAD)
    result = run_cli("--config", str(path), tmp_path=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert "2 problems" in result.stderr
    assert "line 3: clusters.home.proxmox.endpoints[0]:" in result.stderr
    assert "line 5: clusters.home.proxmox.token_secret:" in result.stderr
    assert "inline-secret-value" not in result.stderr


def test_missing_default_config_points_to_init_and_demo(tmp_path):
    result = run_cli(tmp_path=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert str(tmp_path / "cfg" / "labconsole" / "config.toml") in result.stderr
    assert "config init" in result.stderr and "--demo" in result.stderr


def test_env_var_selects_the_config(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(BAD)
    result = run_cli("config", "check", env_extra={"LABCONSOLE_CONFIG": str(path)}, tmp_path=tmp_path)
    assert result.returncode == 2 and str(path) in result.stderr


def test_config_init_writes_once_and_never_overwrites(env, capsys):
    target = env / "new" / "config.toml"
    assert cli.main(["config", "init", "--config", str(target)]) == 0
    starter = target.read_text()
    assert "token_secret_file" in starter and str(target) in capsys.readouterr().out
    target.write_text("# my edits\n")
    assert cli.main(["config", "init", "--config", str(target)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert target.read_text() == "# my edits\n"


def test_config_init_default_location(env, capsys):
    assert cli.main(["config", "init"]) == 0
    assert (env / "xdg-config" / "labconsole" / "config.toml").exists()


def test_config_path_prints_config_log_and_journal(env, capsys, monkeypatch):
    assert cli.main(["config", "path"]) == 0
    out = capsys.readouterr().out
    assert f"{env / 'xdg-config' / 'labconsole' / 'config.toml'}  [from default]" in out
    assert str(env / "xdg-state" / "labconsole" / "log" / "labconsole.log") in out
    assert "journal" in out
    monkeypatch.setenv("LABCONSOLE_CONFIG", str(env / "x.toml"))
    assert cli.main(["config", "path"]) == 0
    assert f"{env / 'x.toml'}  [from LABCONSOLE_CONFIG]" in capsys.readouterr().out
    assert cli.main(["config", "path", "--config", str(env / "y.toml")]) == 0
    assert f"{env / 'y.toml'}  [from --config]" in capsys.readouterr().out


def test_config_check_ok_and_missing_reference(env, capsys):
    path = config_file(env)
    assert cli.main(["config", "check", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "home (default): proxmox" in out and "lab read-only" in out
    (env / "home.token").unlink()
    assert cli.main(["config", "check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "line 5: clusters.home.proxmox.token_secret_file:" in err and "does not exist" in err


def fake_module(monkeypatch, name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    monkeypatch.setitem(sys.modules, name, module)
    return module


def test_tui_gets_config_cluster_and_read_only(env, monkeypatch):
    calls = []
    fake_module(monkeypatch, "console.app",
                run_tui=lambda config, cluster, read_only, demo=None: calls.append((config, cluster, read_only)) or 0)
    path = config_file(env)
    assert cli.main(["--config", str(path), "--cluster", "lab", "--read-only"]) == 0
    config, cluster, read_only = calls[0]
    assert config.path == path and cluster == "lab" and read_only is True
    assert cli.main(["--config", str(path), "--cluster", "nope"]) == 2  # refused before the screen is taken
    assert len(calls) == 1


def test_check_passes_cluster_and_json_and_its_exit_code(env, monkeypatch):
    calls = []

    def run_check(cluster_cfg, as_json=False):
        calls.append((cluster_cfg.name, as_json))
        return 1

    fake_module(monkeypatch, "console.check", run_check=run_check)
    path = config_file(env)
    assert cli.main(["check", "--config", str(path), "--json"]) == 1
    assert cli.main(["--config", str(path), "check", "--cluster", "lab"]) == 1
    assert calls == [("home", True), ("lab", False)]


def test_unexpected_error_one_line_log_has_traceback_without_secret(env, monkeypatch, capsys):
    def run_check(cluster_cfg, as_json=False):
        raise RuntimeError(f"boom: Authorization: PVEAPIToken=root@pam!x={SECRET}\nsecond line")

    fake_module(monkeypatch, "console.check", run_check=run_check)
    assert cli.main(["check", "--config", str(config_file(env))]) == 1
    err = capsys.readouterr().err
    log_file = env / "xdg-state" / "labconsole" / "log" / "labconsole.log"
    assert err.count("\n") == 1 and "unexpected error: RuntimeError: boom" in err
    assert str(log_file) in err and SECRET not in err and "Traceback" not in err
    logging.getLogger().handlers[0].flush()
    text = log_file.read_text()
    assert "Traceback" in text and "RuntimeError" in text and SECRET not in text


def test_maintenance_not_available_yet(env, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "console.maintenance.cli", None)  # import fails as if absent
    assert cli.main(["maintenance", "plan", "pve1"]) == 3
    assert "not available yet" in capsys.readouterr().err


def fake_maintenance(monkeypatch, calls: list):
    def add_arguments(parser):
        sub = parser.add_subparsers(dest="maint_cmd", required=True)
        sub.add_parser("plan").add_argument("node")
        run = sub.add_parser("run")
        run.add_argument("node")
        run.add_argument("--yes", action="store_true")

    fake_module(monkeypatch, "console.maintenance.cli", add_arguments=add_arguments,
                main=lambda args, config: calls.append((args, config)) or 0)


def test_maintenance_parses_with_its_own_arguments_and_gets_the_config(env, monkeypatch):
    calls = []
    fake_maintenance(monkeypatch, calls)
    path = config_file(env)
    assert cli.main(["--config", str(path), "--cluster", "lab", "maintenance", "plan", "pve1"]) == 0
    assert cli.main(["--config", str(path), "maintenance", "run", "pve1", "--yes"]) == 0
    (plan, config), (run, _) = calls
    assert (plan.maint_cmd, plan.node, plan.cluster) == ("plan", "pve1", "lab") and config.path == path
    assert (run.maint_cmd, run.node, run.yes, run.cluster) == ("run", "pve1", True, None)


def test_maintenance_refuses_changes_on_a_read_only_cluster(env, monkeypatch, capsys):
    calls = []
    fake_maintenance(monkeypatch, calls)
    path = config_file(env)
    assert cli.main(["--config", str(path), "--cluster", "lab", "maintenance", "run", "pve1"]) == 1
    assert cli.main(["--config", str(path), "--read-only", "maintenance", "run", "pve1"]) == 1
    assert "read-only" in capsys.readouterr().err and calls == []
    assert cli.main(["--config", str(path), "--read-only", "maintenance", "plan", "pve1"]) == 0  # reading is fine


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["config", "frobnicate"])
    assert info.value.code == 2


@pytest.mark.parametrize("argv", [
    ["--config", "F", "--cluster", "lab", "--read-only", "--debug", "maintenance", "plan", "pve1"],
    ["maintenance", "plan", "pve1", "--config", "F", "--cluster=lab", "--read-only", "--debug"],
    ["maintenance", "--config=F", "plan", "--debug", "pve1", "--cluster", "lab", "--read-only"],
])
def test_global_options_before_or_after_any_subcommand(argv):
    found, rest = cli.pull_global_options(argv)
    assert found == {"--config": "F", "--cluster": "lab", "--read-only": True, "--debug": True}
    assert rest == ["maintenance", "plan", "pve1"]


@pytest.mark.parametrize(("argv", "moved"), [
    (["--json", "check"], ["check", "--json"]),
    (["--yes", "--json", "swarm", "scale", "web", "3"], ["swarm", "--yes", "--json", "scale", "web", "3"]),
    (["--scenario", "large", "--json", "check"], ["--scenario", "large", "check", "--json"]),
    (["check", "--json"], ["check", "--json"]),
    (["--json"], ["--json"]),
])
def test_command_switches_before_the_subcommand_are_moved_after_it(argv, moved):
    assert cli.move_command_switches(argv) == moved


def test_json_before_the_subcommand_reaches_it(env, monkeypatch):
    seen = {}
    fake_module(monkeypatch, "console.check", run_check=lambda c, as_json=False: seen.setdefault("json", as_json) and 0)
    assert cli.main(["--json", "check", "--config", str(config_file(env))]) == 0 and seen["json"] is True


def test_global_options_after_subcommands_reach_every_command(env, monkeypatch):
    calls = []
    fake_maintenance(monkeypatch, calls)
    path = config_file(env)
    assert cli.main(["maintenance", "plan", "pve1", "--config", str(path), "--cluster", "lab"]) == 0
    assert calls[-1][0].cluster == "lab"
    assert cli.main(["maintenance", "run", "pve1", "--config", str(path), "--read-only"]) == 1  # refused
    seen = {}
    fake_module(monkeypatch, "console.check", run_check=lambda c, as_json=False: seen.setdefault("c", c.name) and 0)
    assert cli.main(["check", "--config", str(path), "--cluster", "lab"]) == 0 and seen["c"] == "lab"
    assert cli.main(["config", "check", "--config", str(path)]) == 0
