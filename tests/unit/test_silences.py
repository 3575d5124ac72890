"""Silences: stored per cluster in the state dir, expired ones dropped, the CLI front end."""

import json

import pytest

from console import silences
from console.cli_silence import run_silence_command
from console.errors import ConsoleError
from console.model import Finding


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LABCONSOLE_STATE_DIR", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1h30m", 5400)])
def test_durations(text, seconds):
    assert silences.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "2", "two hours", "2x", "0m", "100d", "2h junk"])
def test_bad_durations_say_what_is_wrong(text):
    with pytest.raises(ConsoleError) as exc:
        silences.parse_duration(text)
    assert "--for" in str(exc.value)


def test_add_list_remove_and_expiry(state_dir):
    a = silences.add("home", "pve3", 3600, "PSU on order", now=1000.0)
    b = silences.add("home", "ceph:osd.2", 60, "disk swap", now=1000.0)
    assert (state_dir / "silences" / "home.json").exists()
    assert [s.id for s in silences.load("home", now=1001.0)] == [a.id, b.id]
    assert [s.id for s in silences.load("home", now=1100.0)] == [a.id]  # b expired: dropped
    assert len(json.loads((state_dir / "silences" / "home.json").read_text())) == 1
    assert silences.load("other", now=1001.0) == []  # per cluster
    silences.remove("home", a.id, now=1100.0)
    assert silences.load("home", now=1100.0) == []
    with pytest.raises(ConsoleError, match="no active silence"):
        silences.remove("home", a.id, now=1100.0)


def test_matching_by_subject_or_layer_subject():
    s = silences.Silence("x", "ceph:osd.2", 2000.0, "r", 1000.0)
    assert s.matches(Finding("warning", "ceph", "osd.2", "osd.2 is down"))
    assert not s.matches(Finding("warning", "ceph", "osd.1", "osd.1 is down"))
    assert silences.Silence("y", "pve3", 2000.0, "r", 1000.0).matches(Finding("critical", "cluster", "pve3", "t"))


def test_empty_subject_or_reason_refused():
    with pytest.raises(ConsoleError, match="SUBJECT"):
        silences.add("home", "  ", 60, "r")
    with pytest.raises(ConsoleError, match="reason"):
        silences.add("home", "pve3", 60, "")


def test_corrupt_file_named(state_dir):
    (state_dir / "silences").mkdir()
    (state_dir / "silences" / "home.json").write_text("{not json")
    with pytest.raises(ConsoleError) as exc:
        silences.load("home")
    assert "home.json" in str(exc.value) and "Traceback" not in str(exc.value)


def test_hostile_subject_is_made_inert():
    s = silences.add("home", "pve3\x1b[2J", 60, "r\x07")
    assert "\x1b" not in s.subject and "\x07" not in s.reason


class Args:
    def __init__(self, **kw):
        self.json = False
        self.__dict__.update(kw)


def test_cli_front_end(capsys):
    assert run_silence_command(Args(silence_command="add", subject="pve3", duration="2h", reason="PSU"), "home") == 0
    out = capsys.readouterr().out
    assert out.startswith("silenced pve3 for 2h00m (id ")
    sid = out.split("(id ")[1].split(")")[0]
    run_silence_command(Args(silence_command="list", json=True), "home")
    doc = json.loads(capsys.readouterr().out)
    assert [d["id"] for d in doc] == [sid] and doc[0]["reason"] == "PSU"
    run_silence_command(Args(silence_command="remove", silence_id=sid), "home")
    assert f"removed silence {sid}" in capsys.readouterr().out
    run_silence_command(Args(silence_command="list"), "home")
    assert capsys.readouterr().out.strip() == "no active silences"


def test_through_the_real_cli(tmp_path, capsys):
    from console.cli import main

    cfg = tmp_path / "config.toml"
    assert main(["config", "init", "--config", str(cfg)]) == 0
    capsys.readouterr()
    assert main(["--config", str(cfg), "silence", "add", "osd.2", "--for", "30m", "--reason", "disk swap"]) == 0
    assert "silenced osd.2 for 30m00s" in capsys.readouterr().out
    assert main(["--config", str(cfg), "silence", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["subject"] == "osd.2"
    assert main(["--config", str(cfg), "silence", "add", "x", "--for", "soon", "--reason", "r"]) == 1
    assert "is not a duration" in capsys.readouterr().err
