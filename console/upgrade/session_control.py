"""The `:updates` view's resume, rollback and retry: the same journal, lock and
procedures as `labconsole upgrade resume|rollback|retry` (run_control.py), with
the progress in the view's UpdatesSession (its lines and its step table).
No Textual here; the screen runs these as App workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from console.errors import ConsoleError
from console.upgrade import run_control

log = logging.getLogger(__name__)


def refresh_unfinished(session: Any) -> None:
    """The unfinished upgrade run of the cluster (for the banner and the keys), when no run goes on."""
    if session.running:
        return
    try:
        session.unfinished = run_control.unfinished(session.cluster_name)
    except (ConsoleError, OSError) as exc:
        session.unfinished = None
        session.message = f"cannot read the upgrade journal: {exc}"


def retry_labels(session: Any) -> list[str]:
    """The items a retry would run: the failed (rolled back) item of the last run and those after it."""
    if session.running or session.unfinished is not None:
        return []
    try:
        st = (run_control.status_of(session.run.journal) if session.run is not None
              else run_control.latest_status(session.cluster_name))
    except (ConsoleError, OSError):
        return []
    return st.retry_labels if st is not None else []


class _Ending:
    lock: Any = None  # the cluster lock, once taken: released however the run ends


@contextlib.asynccontextmanager
async def run_ending(session: Any, refused: str) -> AsyncIterator[_Ending]:
    """However a run started from the view ends (done, refused, aborted, a bug), the lock is
    released, the outcome and message say how, and the view leaves "running"."""
    ending = _Ending()
    try:
        yield ending
    except asyncio.CancelledError:  # aborted from the view: the journal keeps the run
        session.outcome = "interrupted"
        session.steps.interrupted()
        session.message = "aborted: the run stopped where it was; r resumes it, ctrl+b rolls its item back"
        session.add_line(session.message)
        raise
    except ConsoleError as exc:
        session.outcome, session.message = "refused", f"{refused}: {exc}"
        session.add_line(session.message)
    except Exception as exc:  # noqa: BLE001 - never leave the lock held and the view stuck "running"
        log.exception("upgrade run from the view")
        session.outcome, session.message = "error", f"stopped by an unexpected error: {exc}"
        session.add_line(session.message)
    finally:
        if ending.lock is not None:
            await ending.lock.release()
        session.phase = "ended"
        refresh_unfinished(session)
        session._changed()


async def resume(session: Any, what: str) -> None:
    """Resume ("resume") or roll back ("rollback") the unfinished run of the banner."""
    from console.cli_upgrade import _drive, _lock
    from console.upgrade.everything_cli import report
    from console.upgrade.services import UpgradeServices

    if session.running:
        return
    if session.read_only:
        raise ConsoleError("read-only", f"{what} refused: this console is read-only")
    refresh_unfinished(session)
    journal = session.unfinished
    if journal is None:
        session.message = f"no unfinished upgrade run to {what}"
        session._changed()
        return
    svc = UpgradeServices(session.cluster, session.sources, writable=True, **session.svc_options)
    session.phase, session.outcome = "running", None
    session.message = f"{what}: run {journal.run_id}…"
    session.lines.clear()
    session._changed()
    async with run_ending(session, "not done") as ending:
        ending.lock = lock = await _lock(svc)
        await lock.acquire(journal.run_id)
        run = await run_control.reopen(svc, journal, session._on_event)
        session.run = run
        session.steps.reset(list(run.nodes), run)
        session.add_line(f"{what} run {journal.run_id}: item {run.engine.node if run.engine else '-'} "
                         f"state {run.state}")
        if what == "rollback":
            state = await run.rollback() if run.engine is not None else "done"
            if state == "done" and not run.journal.finished():
                run.finish("done")
        else:
            state = await _drive(run, "rollback", resume=True)
        session.outcome = state
        for line in report(run, state, 0).splitlines()[1:]:
            session.add_line(line)
        session.message = f"run {journal.run_id}: {state.replace('_', ' ')}"


async def retry(session: Any) -> None:
    """A new run of the last run's failed item and of the items it never reached (read afresh:
    an item up to date by now is left out)."""
    labels = retry_labels(session)
    if not labels:
        session.message = "nothing to retry: the last run did not stop at a rolled-back item"
        session._changed()
        return
    await session.refresh()
    if session.plan is None:
        return
    todo = [label for label in labels if label in session.plan.labels]
    if not todo:
        session.message = f"nothing to retry: {', '.join(labels)} need no upgrade now"
        session._changed()
        return
    await session.start(only=todo)
