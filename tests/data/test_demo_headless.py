"""`--demo` works with every headless command, before or after it: the command runs on a fresh
simulated lab that stops with it (each call is a new lab)."""

from __future__ import annotations

import json

import pytest

from console.cli import main

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("argv", [["--demo", "guests", "--json"], ["guests", "--json", "--demo", "--speed", "5"]])
def test_demo_before_or_after_a_headless_command(argv, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))  # no config file: only the demo can answer
    monkeypatch.delenv("LABCONSOLE_CONFIG", raising=False)
    assert main(argv) == 0
    guests = json.loads(capsys.readouterr().out)
    assert {g["name"] for g in guests} >= {"mail", "db", "jellyfin"}


def test_a_bad_demo_option_after_the_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["guests", "--demo", "--speed", "fast"])
    assert exc.value.code == 2 and "invalid float value: 'fast'" in capsys.readouterr().err
