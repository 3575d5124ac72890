"""The resume banner: an unfinished maintenance run of this cluster in the journal
(of this very cluster when its identity is known: maintenance/identity.py).

Light on purpose (only the journal module): the App checks this at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from console.errors import ConsoleError
from console.maintenance.identity import recorded_identity
from console.maintenance.journal import ClusterLock, Journal, unfinished_runs
from console.paths import journal_dir


@dataclass
class Unfinished:
    journal: Journal
    nodes: list[str]
    state: str
    last: str  # the last thing the journal recorded, for the banner
    elsewhere: str | None  # set when another live console holds the lock
    recorded_on: str = ""  # the cluster identity the run recorded (maintenance/identity.py)


def find_unfinished(cluster: str, identity: Any = None) -> Unfinished | None:
    """The newest unfinished run of `cluster` (of that identity, when given), described for the banner."""
    if not (journal_dir() / cluster).is_dir():
        return None  # never ran maintenance here (and reading must not create directories)
    runs = unfinished_runs(cluster, identity)
    if not runs:
        return None
    journal = runs[-1]
    try:
        head = journal.header()
        records = list(journal.records())
    except ConsoleError as exc:
        return Unfinished(journal, [], "unreadable", exc.message, None)
    state = journal.last_state() or "new"
    last = next((r for r in reversed(records) if r["event"] in (
        "apply-start", "apply-done", "apply-failed", "undo-start", "undo-done", "undo-failed")), None)
    lock = ClusterLock(cluster)
    elsewhere = None
    if lock.held():
        h = lock.holder()
        elsewhere = f"pid {h.pid} on {h.host}" if h else "another console"
    elif state in ("running", "rolling_back"):
        state = "interrupted"
    where = f"{last['event']} {last.get('step')} on {last.get('node')}" if last else "nothing applied"
    recorded = recorded_identity(head)
    return Unfinished(journal, list(head.get("nodes") or []), state, where, elsewhere,
                      recorded.describe() if recorded else "")


def unfinished_banner(cluster: str, read_only: bool = False, identity: Any = None) -> str | None:
    """One line for the start-up notice, or None when there is nothing to resume."""
    u = find_unfinished(cluster, identity)
    if u is None:
        return None
    if u.elsewhere:
        return f"maintenance run {u.journal.run_id} is in progress in {u.elsewhere}"
    if _kind(u.journal) == "upgrade":  # h-upgguest: a guest/firewall upgrade resumes headless (for now)
        return (f"unfinished upgrade run {u.journal.run_id} ({', '.join(u.nodes)}): {u.state}, last {u.last}. "
                "`labconsole upgrade resume` or `labconsole upgrade rollback` it")
    what = f"unfinished maintenance run {u.journal.run_id} ({', '.join(u.nodes)}): {u.state}, last {u.last}"
    what += f" (recorded on {u.recorded_on}). " if u.recorded_on else ". "
    if read_only:
        return what + "Resume or roll it back from a console that is not read-only"
    return what + "Press 7: r resume, b roll back"


def _kind(journal: Journal) -> str | None:
    try:
        return journal.header().get("kind")
    except ConsoleError:
        return None
