"""After an upgrade run stopped: what its journal says (status), and the ways on,
for the `:updates` view and headless alike:

  resume    an unfinished run (interrupted, aborted, the console died): go on at
            the step where it stopped (`labconsole upgrade resume`)
  rollback  an unfinished run: roll its current item back (`upgrade rollback`)
  retry     a run that ended with its failed item rolled back: a new run of that
            item and of the items it never reached (`labconsole upgrade retry`)
  abort     a run going on: stop it where it is; the journal keeps it for
            resume or rollback (the view cancels its worker; `upgrade abort`
            interrupts the `labconsole upgrade run` holding the cluster's lock)

No Textual here. Only journals of kind "upgrade" are looked at.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.errors import ConsoleError
from console.maintenance.journal import ClusterLock, Journal, runs_of
from console.upgrade.runner import KIND

RETRYABLE = ("rolled_back",)


@dataclass
class RunStatus:
    run_id: str
    state: str  # done | rolled_back | rollback_failed | interrupted | failed | running ... (unfinished: last seen)
    finished: bool
    items: list[tuple[str, str]] = field(default_factory=list)  # (label, state)
    stopped_at: str | None = None
    error: str | None = None

    @property
    def retry_labels(self) -> list[str]:
        """The failed item and the items after it that the run never reached (a retry's plan)."""
        if not self.finished or self.state not in RETRYABLE:
            return []
        return [label for label, st in self.items if st != "done"]

    def next_step(self) -> str:
        if not self.finished:
            return "`labconsole upgrade resume` continues it, `labconsole upgrade rollback` rolls its item back"
        if self.retry_labels:
            return f"`labconsole upgrade retry` upgrades {', '.join(self.retry_labels)} again"
        return "nothing to do"

    def to_dict(self) -> dict:
        return {"run": self.run_id, "state": self.state, "finished": self.finished,
                "items": [{"item": label, "state": st} for label, st in self.items],
                "stopped_at": self.stopped_at, "error": self.error, "retry": self.retry_labels,
                "next": self.next_step()}

    def text(self) -> str:
        marks = {"done": "✔", "pending": "·", "rolled_back": "↺"}
        lines = [f"run {self.run_id}: {self.state.replace('_', ' ')}" + ("" if self.finished else " (unfinished)")]
        lines += [f"  {marks.get(st, '✖')} {label}: {st.replace('_', ' ')}" for label, st in self.items]
        if self.error and self.state != "done":
            lines.append(f"what failed ({self.stopped_at}): {self.error}")
        lines.append(f"next: {self.next_step()}")
        return "\n".join(lines)


def upgrade_runs(cluster: str) -> list[Journal]:
    return [j for j in runs_of(cluster) if j.header().get("kind") == KIND]


def status_of(journal: Journal) -> RunStatus:
    """The run as its journal tells it: every item's state, where it stopped and why."""
    head = journal.header()
    labels = [str(n) for n in head.get("nodes") or ()]
    states = {label: "pending" for label in labels}
    run_state, finished, stopped, error = "running", False, None, None
    for r in journal.records():
        ev, node = r.get("event"), r.get("node")
        if ev == "node-done" and node in states:
            states[node] = "done"
        elif ev == "state" and node in states:
            states[node] = str(r.get("state"))
            stopped = node if r.get("state") != "done" else stopped
        elif ev in ("apply-failed", "undo-failed"):
            error = r.get("error")
        elif ev == "run-end":
            run_state, finished = str(r.get("state")), True
    if not finished:
        current = next((s for s in states.values() if s not in ("done", "pending")), "running")
        run_state = "interrupted" if current in ("running", "rolling_back") else current
        if stopped is not None and states[stopped] in ("running", "rolling_back"):
            states[stopped] = "interrupted"
    elif run_state == "done":
        stopped, error = None, None
    return RunStatus(journal.run_id, run_state, finished, [(label, states[label]) for label in labels], stopped,
                     error)


def latest_status(cluster: str) -> RunStatus | None:
    runs = upgrade_runs(cluster)
    return status_of(runs[-1]) if runs else None


def unfinished(cluster: str) -> Journal | None:
    runs = [j for j in upgrade_runs(cluster) if not j.finished()]
    return runs[-1] if runs else None


# ------------------------------------------------------------------ abort (headless)
def abort_holder(cluster: str) -> str:
    """Interrupt the `labconsole upgrade` process that holds the cluster's lock (SIGINT: its current
    step is cancelled, its journal stays open for resume or rollback). Only a process on this machine
    whose command line is a labconsole upgrade is signalled."""
    import socket

    lock = ClusterLock(cluster)
    holder = lock.holder()
    if not lock.held() or holder is None:
        raise ConsoleError("upgrade abort", f"no upgrade run is going on for {cluster}")
    if holder.host != socket.gethostname():
        raise ConsoleError("upgrade abort", f"the run is going on on {holder.host} (pid {holder.pid})",
                           "abort it there")
    try:
        argv = Path(f"/proc/{holder.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        raise ConsoleError("upgrade abort", f"pid {holder.pid} holds the lock but cannot be read") from None
    words = [a.decode(errors="replace") for a in argv]
    if "upgrade" not in words:
        raise ConsoleError("upgrade abort", f"pid {holder.pid} holding the lock is not a `labconsole upgrade` "
                           "command (a console?)", "abort it in that console (ctrl+x in :updates)")
    os.kill(holder.pid, signal.SIGINT)
    return f"asked pid {holder.pid} (run {holder.run or '?'}) to stop; it keeps its journal for resume or rollback"


async def reopen(svc: Any, journal: Journal, on_event: Any) -> Any:
    """The unfinished run, ready to resume or roll back (the caller holds the lock)."""
    from console.upgrade.everything_run import EverythingRun, is_everything
    from console.upgrade.runner import UpgradeRun, steps_for

    if is_everything(journal):
        return EverythingRun.reopen(journal, svc, on_event)
    svc.run_id = journal.run_id
    return UpgradeRun.resume(journal, steps_for, svc, on_event)
