"""`labconsole upgrade plan --all [--json]`, `upgrade run --all [--yes]`, and the
resume/rollback of such a run (console/cli_upgrade.py hands them over here).

Exit codes as every upgrade/maintenance command: 0 done (or nothing to do),
1 stopped safe (preflight refused, the failed item rolled back, or stopped for
resume/rollback), 2 needs attention (a rollback failed) or an error.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from console.errors import ConsoleError
from console.inert import inert_block

EXIT_OK, EXIT_SAFE = 0, 1


async def plan_all(svc: Any, args: Any, out: TextIO) -> int:
    from console.upgrade.everything_plan import build

    plan = await build(svc.sources, svc.cluster)
    if args.json:
        print(json.dumps(plan.to_dict(), indent=2, default=str), file=out)
    else:
        print(inert_block(plan.text()), file=out)
    return EXIT_OK


def _confirmed(cluster: str, count: int, out: TextIO) -> bool:
    if not sys.stdin.isatty():
        raise ConsoleError("upgrade", "refusing to run without confirmation", "pass --yes")
    answer = input(f"Upgrade {count} item(s) on {cluster}, the guests alongside the nodes? Type {cluster} to "
                   "confirm: ")
    if answer.strip() != cluster:
        print("not confirmed; nothing done", file=out)
        return False
    return True


async def run_all(svc: Any, args: Any, out: TextIO, only: list[str] | None = None) -> int:
    """`only`: the plan's items to run (`upgrade retry`: the item a run stopped at and those after it)."""
    from console.cli_upgrade import _lock, _refuse_if_unfinished
    from console.maintenance.cli import Printer
    from console.maintenance.identity import cluster_identity
    from console.upgrade.everything_plan import build
    from console.upgrade.everything_run import EverythingRun

    as_json = bool(getattr(args, "json", False))
    text = sys.stderr if as_json else out  # with --json: progress on stderr, one document on stdout
    identity = await cluster_identity(svc)
    lock = await _lock(svc)
    await lock.ensure_free()
    _refuse_if_unfinished(svc.cluster.name, identity)
    plan = await build(svc.sources, svc.cluster)
    if only is not None:  # h-upgfix: `upgrade retry`
        from console.upgrade.everything_plan import EverythingPlan

        plan = EverythingPlan(plan.cluster, [i for i in plan.items if i.label in only])
    print(inert_block(plan.text()), file=text)
    if getattr(args, "return_guests", False):
        print("at the end every guest goes back to the node it ran on before (--return-guests)", file=text)
    if not plan.todo:
        print("nothing to upgrade", file=text)
        if as_json:
            print(json.dumps({"run": None, "state": "done", "exit_code": EXIT_OK, "items": []}), file=out)
        return EXIT_OK
    if not args.yes and not _confirmed(svc.cluster.name, len(plan.todo), text):
        return EXIT_SAFE
    await lock.acquire()
    try:
        _refuse_if_unfinished(svc.cluster.name, identity)  # again, under the lock
        run = EverythingRun.begin(svc.cluster.name, plan, svc, Printer(text), identity.to_dict(),
                                  return_guests=bool(getattr(args, "return_guests", False)))
        await lock.note(run.journal.run_id)
        return await _carry_out(run, args.on_failure, out, resume=False, as_json=as_json)
    finally:
        await lock.release()


async def resume_all(svc: Any, journal: Any, what: str, on_failure: str, out: TextIO) -> int:
    """`upgrade resume|rollback` of an upgrade-everything run: continue at the item where it stopped,
    or roll that item back (the items before it stay upgraded)."""
    from console.cli_upgrade import _lock
    from console.maintenance.cli import Printer
    from console.upgrade.everything_run import EverythingRun

    lock = await _lock(svc)
    await lock.acquire(journal.run_id)
    try:
        run = EverythingRun.reopen(journal, svc, Printer(out))
        print(f"{what} run {journal.run_id}: item {run.engine.node if run.engine else '-'} state {run.state}",
              file=out)
        if what == "rollback":
            t0 = time.monotonic()
            state = await run.rollback() if run.engine else "done"
            if state == "done" and not run.journal.finished():
                run.finish("done")
            print(inert_block(report(run, state, time.monotonic() - t0)), file=out)
            from console.cli_upgrade import _exit_for

            return _exit_for(state)
        return await _carry_out(run, on_failure, out, resume=True)
    finally:
        await lock.release()


async def _carry_out(run: Any, on_failure: str, out: TextIO, resume: bool, as_json: bool = False) -> int:
    from console.cli_upgrade import _drive, _exit_for
    from console.maintenance.observed import AvailabilityWatch

    watch = AvailabilityWatch(run.services)
    await watch.start()
    t0 = time.monotonic()
    try:
        state = await _drive(run, on_failure, resume=resume)
    finally:
        await watch.stop()
    seconds = time.monotonic() - t0
    words = inert_block("\n".join([report(run, state, seconds), *watch.lines()]))
    print(words, file=sys.stderr if as_json else out)
    if as_json:
        eng = run.engine
        doc = {"run": run.journal.run_id, "state": state, "exit_code": _exit_for(state), "seconds": round(seconds, 1),
               "items": [{"item": label, "state": st} for label, st in run.item_states()],
               "stopped_at": eng.node if eng is not None and state != "done" else None,
               "error": eng.last_error if eng is not None and state != "done" else None,
               "return_guests": bool(run.options.get("return_guests")),
               "guests": _parked(run),
               "availability": watch.lines()}
        print(json.dumps(doc, indent=2), file=out)
    return _exit_for(state)


def _parked(run: Any) -> dict | None:
    """Where the guests ended, against where they ran before the run (the journal's record), or None."""
    from console.maintenance.return_guests import PARKED

    rec = next((r for r in reversed(list(run.journal.records())) if r.get("event") == PARKED), None)
    if rec is None:
        return None
    return {"returned": bool(rec.get("returned")), "spread": rec.get("spread") or [],
            "away": [{"vmid": a[0], "name": a[1], "kind": a[2], "home": a[3], "now": a[4]}
                     for a in rec.get("away") or [] if isinstance(a, list) and len(a) == 5]}


def report(run: Any, state: str, seconds: float) -> str:
    """The end of a run in words: every item's state, what failed, what to do next."""
    marks = {"done": "✔", "pending": "·", "rolled_back": "↺"}
    lines = [f"run {run.journal.run_id}: {state} after {seconds:.1f} s"]
    lines += [f"  {marks.get(s, '✖')} {label}: {s.replace('_', ' ')}" for label, s in run.item_states()]
    from console.maintenance.return_guests import report_lines

    lines += report_lines(list(run.journal.records()))
    eng = run.engine
    if eng is not None and eng.last_error and state != "done":
        lines.append(f"what failed ({eng.node}): {eng.last_error}")
    if state == "rolled_back":
        lines.append(f"{eng.node if eng else 'the item'} was rolled back; the items done stay upgraded (those that "
                     "ran alongside it went on to their end) and the pending ones were not touched")
    elif state in ("failed", "interrupted"):
        lines.append("stopped: `labconsole upgrade resume` continues at this item, `labconsole upgrade rollback` "
                     "rolls it back")
    elif state == "rollback_failed":
        lines.append("the rollback did not finish: look at the item; `labconsole upgrade rollback` tries again")
    return "\n".join(lines)
