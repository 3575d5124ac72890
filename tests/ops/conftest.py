"""The operations tests: a fresh seed lab per test (speed 20), the headless
commands run in process, the command log in the test's own state dir."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from console.cli import main
from tests.simlab import SimLab

SPEED = 20.0


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "state"
    monkeypatch.setenv("LABCONSOLE_STATE_DIR", str(d))
    return d


@pytest.fixture
def lab():
    with SimLab("seed", speed=SPEED) as lab:
        yield lab


class Cli:
    """`labconsole ... --config LAB` in process: exit code, stdout, stderr (and parsed JSON with --json)."""

    def __init__(self, lab: SimLab, capsys, monkeypatch):
        self.lab, self.capsys, self.monkeypatch = lab, capsys, monkeypatch

    def __call__(self, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        self.monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main([*argv, "--config", str(self.lab.config_path)])
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *argv: str) -> tuple[int, object]:
        code, out, err = self(*argv, "--json")
        assert out.strip(), f"no JSON on stdout; stderr: {err}"
        return code, json.loads(out)

    def guest(self, vmid: int) -> dict:
        code, rows = self.json("guests")
        assert code == 0
        return next(g for g in rows if g["vmid"] == vmid)

    def tasks(self, **filters: str) -> list[dict]:
        args = [f"--{k}={v}" if v else f"--{k}" for k, v in filters.items()]
        code, rows = self.json("tasks", "--limit", "500", *args)
        return rows


@pytest.fixture
def cli(lab, capsys, monkeypatch) -> Cli:
    return Cli(lab, capsys, monkeypatch)


def log_records(state_dir: Path) -> list[dict]:
    path = state_dir / "command-log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
