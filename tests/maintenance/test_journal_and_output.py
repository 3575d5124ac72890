"""What comes from outside stays inert and small on its way through maintenance
(progress, apt output, wait lines, journal records), and a damaged journal is
named by file and line, never an "unexpected error"."""

from __future__ import annotations

import asyncio
import io
import json
import types

import pytest

from console.errors import ConsoleError
from console.hostile_corpus import CORPUS
from console.maintenance.cli import Printer
from console.maintenance.engine import Event, StepContext
from console.maintenance.journal import Journal, unfinished_runs
from console.maintenance.rolling import MaintenanceRun
from console.maintenance.services import MaintenanceServices

CONTROLS = ("\x1b", "\x00", "\x07", "\r", "\x9b", "\u202e")


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LABCONSOLE_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


# ------------------------------------------------------------------ a damaged journal
DAMAGE = {
    "a list": b"[1,2,3]\n",
    "null": b"null\n",
    "no event": b'{"t": 1}\n',
    "run-start without nodes": b'{"event": "run-start", "cluster": "lab"}\n',
    "nodes not names": b'{"event": "run-start", "cluster": "lab", "nodes": [1, {}]}\n',
    "apply without step": b'{"event": "apply-start", "node": "pve1"}\n',
    "facts not an object": b'{"event": "apply-done", "node": "pve1", "step": "D1", "facts": [1]}\n',
    "random bytes": bytes(range(256)) + b"\n",
    "broken JSON mid-file": b'{"event": "state", \n',
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_line_is_named_by_file_and_line(damage):
    j = Journal.create("lab", "node", ["pve1"])
    with open(j.path, "ab") as f:
        f.write(DAMAGE[damage])
        f.write(json.dumps({"event": "state", "node": "pve1", "state": "running", "t": 2}).encode() + b"\n")
    with pytest.raises(ConsoleError) as err:
        list(j.records())
    text = str(err.value)
    assert text.startswith(f"journal {j.path} line 2") and "Error" not in text, text
    with pytest.raises(ConsoleError, match="line 2"):
        unfinished_runs("lab")  # what status / resume / run read first: they refuse, naming it
    with pytest.raises(ConsoleError, match="line 2"):
        MaintenanceRun.resume(j, lambda n: [], None)


def test_a_torn_last_line_is_a_crash_mid_write_and_ignored():
    j = Journal.create("lab", "node", ["pve1"])
    with open(j.path, "ab") as f:
        f.write(b'{"event": "state", "node": "pv')
    assert [r["event"] for r in j.records()] == ["run-start"]


def test_a_step_this_console_does_not_know_refuses_resume():
    j = Journal.create("lab", "node", ["pve1"])
    j.append("apply-start", node="pve1", step="Z9")

    class Step:
        id, title, phase, skippable = "D1", "d", "drain", False

    with pytest.raises(ConsoleError, match="Z9"):
        MaintenanceRun.resume(j, lambda n: [Step()], None)


def test_journal_strings_are_inert_and_capped():
    j = Journal.create("lab", "node", ["pve1"])
    long = "r" * 10_000
    j.append("apply-failed", node="pve1", step="V6", error=f"routers {long}\x1b]0;x\x07", facts={long: long})
    raw = j.path.read_text()
    assert len(raw) < 2_000 and "\\u001b" not in raw and "(10000 chars)" in raw


# ------------------------------------------------------------------ output on its way to the operator
def run_printer(events, tty: bool) -> str:
    out = io.StringIO()
    out.isatty = lambda: tty
    printer = Printer(out)
    for e in events:
        printer(e)
    return out.getvalue()


def test_apt_output_is_inert_and_a_pipe_gets_no_colours():
    seen: list[Event] = []
    ctx = StepContext("pve1", None, emit=seen.append, step_id="U1")
    for line in CORPUS + ("\x1b[32mSetting up pve-manager\x1b[0m",):
        ctx.output(line)
    piped = run_printer(seen, tty=False)
    assert not any(c in piped for c in CONTROLS), repr(piped[:500])
    assert "Setting up pve-manager" in piped and max(len(line) for line in piped.splitlines()) < 500
    on_tty = run_printer(seen, tty=True)
    assert "\x1b[32mSetting up" in on_tty  # colours stay for a terminal; nothing else does
    assert "\x1b]" not in on_tty and "\x1b[2J" not in on_tty and "\x07" not in on_tty


def test_progress_lines_are_inert_and_capped():
    seen: list[Event] = []
    ctx = StepContext("pve1", None, emit=seen.append, step_id="V6")
    for s in CORPUS:
        ctx.progress(f"waiting: Traefik healthy: router {s}")
    text = run_printer(seen, tty=True)
    assert not any(c in text for c in CONTROLS)
    assert max(len(line) for line in text.splitlines()) < 500


def services(pve=None) -> MaintenanceServices:
    sources = types.SimpleNamespace(read_only=False, get=lambda name: pve, ssh=None)
    return MaintenanceServices(None, sources, poll=0.001, timeouts={"api_errors": 5.0})


def test_a_wait_shows_each_status_once_however_often_it_comes_back():
    seen: list[Event] = []
    ctx = StepContext("pve1", None, emit=seen.append, step_id="V6")
    answers = iter(["router " + "x" * 10_000, "router b"] * 50 + [None])

    async def probe():
        return next(answers)

    asyncio.run(services().wait_for(ctx, "Traefik healthy", probe, timeout=30))
    lines = [e.text for e in seen]
    assert len(lines) == 2 and all(len(line) < 300 for line in lines), lines


def test_an_empty_task_log_says_nothing():
    class Pve:
        polls = 0

        async def task_status(self, node, upid):
            self.polls += 1
            return {"status": "stopped", "exitstatus": "OK"} if self.polls > 5 else {"status": "running"}

        async def task_log(self, node, upid, start=0):
            # as ProxmoxSource.task_log answers: PVE's "no content" placeholder is dropped there
            return [] if start == 0 and self.polls < 4 else (["TASK OK"] if start == 0 else [])

    seen: list[Event] = []
    ctx = StepContext("pve1", None, emit=seen.append, step_id="D4")
    asyncio.run(services(Pve()).wait_task(ctx, "pve1", "UPID:x", "migrate 100", 30))
    texts = [e.text for e in seen]
    assert "no content" not in texts and texts.count("TASK OK") == 1, texts
