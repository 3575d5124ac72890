"""`labconsole maintenance rejoin NODE`: the hardware work on a drained node is done
(console/maintenance/drain_only.py); release the run's hold and go on: verify, rejoin."""

from __future__ import annotations

from typing import Any, TextIO

from console.config_model import ClusterConfig
from console.errors import ConsoleError
from console.inert import inert_block
from console.maintenance.cli import EXIT_SAFE, Printer, _exit_for, _with_sources
from console.maintenance.cluster_lock import MaintenanceLock, online_nodes
from console.maintenance.drain_only import drain_steps_for
from console.maintenance.end_report import end_report
from console.maintenance.events import names
from console.maintenance.identity import cluster_identity
from console.maintenance.journal import unfinished_runs
from console.maintenance.rolling import MaintenanceRun
from console.maintenance.runner import restore_plan
from console.maintenance.services import MaintenanceServices


async def rejoin(cluster: ClusterConfig, node: str, on_failure: str, out: TextIO) -> int:
    """Release the hold of the drain-only run of `node` and go on: verify, rejoin."""
    printer = Printer(out)

    async def go(svc: MaintenanceServices) -> Any:
        identity = await cluster_identity(svc)
        runs = unfinished_runs(cluster.name, identity)
        journal = runs[-1] if runs else None
        head = journal.header() if journal is not None else {}
        if journal is None or head.get("kind") != "drain" or list(head.get("nodes") or []) != [node]:
            what = (f"the unfinished run {journal.run_id} is a {head.get('kind')} run of {names(head.get('nodes'))}"
                    if journal is not None else "there is no unfinished maintenance run")
            raise ConsoleError("maintenance", f"no drain-only run of {node} to rejoin: {what}",
                               "`labconsole maintenance status` shows the latest run")
        lock = MaintenanceLock(cluster.name, svc, await online_nodes(svc))
        await lock.acquire(journal.run_id)
        try:
            run = MaintenanceRun.resume(journal, drain_steps_for, svc, printer)
            eng = run.engine
            if eng is None:
                state = await run.run()  # every node done: close the run
            else:
                restore_plan(svc, eng.node, eng.ctx.facts)
                hold = next(i for i, s in enumerate(eng.steps) if s.id == "H1")
                if eng.position < hold and not eng.ctx.facts.get("released"):
                    at = eng.steps[eng.position].id
                    print(f"{node} is not drained yet (the run stopped at {at}, state {eng.state}): "
                          "`labconsole maintenance resume` finishes the drain, `labconsole maintenance rollback` "
                          "undoes it", file=out)
                    return EXIT_SAFE
                print(f"rejoin {node}: run {journal.run_id}, state {eng.state}", file=out)
                state = await run.rejoin()
                if state == "failed" and on_failure == "rollback":
                    state = await run.rollback()
            print(inert_block(end_report(run, state)), file=out)
            return _exit_for(state)
        finally:
            await lock.release()

    return await _with_sources(cluster, go)
