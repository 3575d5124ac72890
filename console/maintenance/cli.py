"""`labconsole maintenance plan|run|drain|rejoin|resume|rollback|status`: the engine without a UI.

Exit codes: 0 success (for `drain`: the node is drained and the run waits for `rejoin`);
1 stopped and safe (nothing changed, or rolled back, or
stopped with the node drained and every guest running elsewhere: resume or
roll back later); 2 needs attention (a rollback failed, or the run is in an
unknown state).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TextIO, TypeVar

from console.config_model import ClusterConfig, Config
from console.errors import ConsoleError
from console.inert import inert, inert_block, strip_sgr
from console.maintenance.cluster_lock import ClusterDirLock, Holder, MaintenanceLock, died_here, online_nodes
from console.maintenance.drain_only import drain_steps_for
from console.maintenance.end_report import end_report
from console.maintenance.engine import Event
from console.maintenance.events import event_line, names
from console.maintenance.identity import ClusterIdentity, cluster_identity, recorded_identity
from console.maintenance.journal import ClusterLock, latest_run, unfinished_runs
from console.maintenance.observed import AvailabilityWatch
from console.maintenance.preflight_run import CheckResult, preflight_text, run_preflight
from console.maintenance.rolling import MaintenanceRun
from console.maintenance.runner import build_plan, restore_plan, rolling_order, steps_for, steps_for_kind
from console.maintenance.services import MaintenanceServices

EXIT_OK, EXIT_SAFE, EXIT_ATTENTION = 0, 1, 2


ACCEPT_HELP = ("an HA guest whose HA rules leave it no other node: accept that it stops with the node's reboot "
               "(repeatable; preflight refuses such a guest otherwise)")

T = TypeVar("T")


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="maint_cmd", required=True,
                           metavar="plan|run|drain|rejoin|resume|rollback|status")
    plan = sub.add_parser("plan", help="plan a node and run its preflight checks; changes nothing")
    plan.add_argument("node")
    plan.add_argument("--json", action="store_true", help="machine-readable output")
    plan.add_argument("--accept-downtime", type=int, action="append", default=[], metavar="VMID",
                      help=ACCEPT_HELP)
    run = sub.add_parser("run", help="maintain one node, or all nodes one after another")
    run.add_argument("node", nargs="?")
    run.add_argument("--all", action="store_true", help="rolling upgrade of every node that has updates")
    run.add_argument("--order", help="comma-separated node order for --all")
    run.add_argument("--return-guests", action="store_true",
                     help="--all: move every guest back to the node it ran on before, at the end (default: guests "
                          "stay on the upgraded nodes the run put them on, so each container restarts at most once)")
    run.add_argument("--force", action="store_true",
                     help="a node with nothing pending: drain and reboot it anyway (default: skip it)")
    _starting_args(run)
    drain = sub.add_parser("drain", help="drain a node for hardware work (no upgrade, no reboot); the run then "
                           "waits until `rejoin NODE`")
    drain.add_argument("node")
    _starting_args(drain)
    rejoin = sub.add_parser("rejoin", help="the hardware work on a drained node is done: verify it and bring "
                            "everything back")
    rejoin.add_argument("node")
    rejoin.add_argument("--on-failure", choices=("stop", "rollback"), default="stop")
    res = sub.add_parser("resume", help="continue an interrupted or stopped run")
    res.add_argument("--on-failure", choices=("stop", "rollback"), default="stop")
    sub.add_parser("rollback", help="roll back the node of an interrupted or stopped run")
    sub.add_parser("status", help="the state of the latest run of this cluster")


def _starting_args(p: argparse.ArgumentParser) -> None:
    """What `run` and `drain` (commands that start a run) both take."""
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--on-failure", choices=("stop", "rollback"), default="stop",
                   help="stop (default: the node stays drained, resume or roll back later) or roll back at once")
    p.add_argument("--accept-downtime", type=int, action="append", default=[], metavar="VMID", help=ACCEPT_HELP)


class Printer:
    """Engine events as timestamped lines; command output keeps its colours only on a terminal."""

    def __init__(self, out: TextIO):
        self.out = out
        self.t0 = time.monotonic()
        isatty = getattr(out, "isatty", None)
        self.colour = bool(isatty and isatty())

    def __call__(self, e: Event) -> None:
        text = event_line(e)
        if text is None:
            return
        if e.kind != "output":
            text = inert(text)  # once more on the way out (the house rule for headless output)
        elif not self.colour:
            text = strip_sgr(text)
        print(f"{time.monotonic() - self.t0:7.1f}s [{e.node}] {text}", file=self.out, flush=True)


def _exit_for(state: str) -> int:
    if state in ("done", "paused"):  # paused: a drain-only run waits for `rejoin`, as asked
        return EXIT_OK
    if state in ("rolled_back", "failed", "interrupted"):
        return EXIT_SAFE
    return EXIT_ATTENTION


async def _with_sources(cluster: ClusterConfig, fn: Callable[[MaintenanceServices], Awaitable[T]],
                        writable: bool = True) -> T:
    from console.sources import build_sources

    sources = build_sources(cluster)
    try:
        svc = MaintenanceServices(cluster, sources, writable=writable)
        return await fn(svc)
    finally:
        await sources.close()


async def _review(svc: MaintenanceServices, node: str, steps: Callable[[str], list] = steps_for,
                  keep_reads: bool = False) -> tuple[Any, list[CheckResult]]:
    """The plan of `node` and its preflight results (read-only); keep_reads: see run_preflight."""
    pve = await svc.pve()
    if node not in {n.name for n in pve.nodes}:
        raise ConsoleError("maintenance",
                           f"no node named {node} (known: {', '.join(sorted(n.name for n in pve.nodes))})")
    plan = await build_plan(svc, node)
    svc.plans[node] = plan
    return plan, await run_preflight(svc, node, plan, steps, keep_reads)


async def _plan(cluster: ClusterConfig, node: str, as_json: bool, out: TextIO,
                accept_downtime: tuple[int, ...] = ()) -> int:
    async def go(svc: MaintenanceServices) -> Any:
        svc.accept_downtime.update(accept_downtime)
        plan, checks = await _review(svc, node)
        ok = plan.ok and all(c.ok for c in checks)
        if as_json:
            doc = {"node": node, "ok": ok, "plan": plan.to_dict(), "steps": plan.acting_steps(),
                   "preflight": [c.to_dict() for c in checks]}
            print(json.dumps(doc, indent=2, sort_keys=True), file=out)
        else:
            print(inert_block(plan.text()), file=out)
            print(inert_block(preflight_text(checks)), file=out)
        return EXIT_OK if ok else EXIT_SAFE

    return await _with_sources(cluster, go, writable=False)


async def _drive(run: MaintenanceRun, on_failure: str, resume: bool = False) -> str:
    state = await (run.retry() if resume and run.engine is not None else run.run())
    if state == "failed" and (on_failure == "rollback" or _failed_in_preflight(run)):
        state = await run.rollback()
    return state


def _failed_in_preflight(run: MaintenanceRun) -> bool:
    eng = run.engine
    return eng is not None and eng.failed_step is not None and eng.failed_step.phase == "preflight" and not [
        s for s, _ in eng.applied if eng.step(s).phase != "preflight"]


async def _run(cluster: ClusterConfig, args: argparse.Namespace, out: TextIO) -> int:
    printer = Printer(out)
    drain = args.maint_cmd == "drain"
    steps = drain_steps_for if drain else steps_for

    async def go(svc: MaintenanceServices) -> Any:
        pve = await svc.pve()
        if drain:
            nodes = [args.node]
            svc.drain_only.add(args.node)
        elif args.all:
            order = [n.strip() for n in args.order.split(",")] if args.order else None
            nodes = rolling_order(pve, order)
            if not nodes:
                print("no node has pending updates: nothing to do", file=out)
                return EXIT_OK
        elif args.node:
            nodes = [args.node]
        else:
            raise ConsoleError("maintenance", "name a node, or --all")
        if getattr(args, "force", False):
            svc.force_reboot.update(nodes)
        svc.accept_downtime.update(args.accept_downtime)
        identity = await cluster_identity(svc)
        lock = MaintenanceLock(cluster.name, svc, await online_nodes(svc))
        await lock.ensure_free()
        _refuse_if_unfinished(cluster, identity)
        rolling = not drain and args.all
        if rolling:
            svc.rolling_run = (list(nodes), [])  # the plan parks guests as the run will (plan_park.py)
        plan, checks = await _review(svc, nodes[0], steps, keep_reads=args.yes)  # --yes: the run starts at once
        if rolling:
            print(f"Rolling upgrade, one node after another: {' -> '.join(nodes)}; each node is planned and "
                  f"checked again just before its turn. {_parking(args.return_guests)} Plan of {nodes[0]} now:",
                  file=out)
        print(inert_block(plan.text()), file=out)
        print(inert_block(preflight_text(checks)), file=out)
        if not drain and not rolling and plan.pending_updates == 0 and not args.force:
            print(f"{nodes[0]} has nothing pending: skipped (pass --force to drain it for a reboot anyway)",
                  file=out)
            return EXIT_OK
        if not (plan.ok and all(c.ok for c in checks)):
            print("preflight failed: nothing was changed", file=out)
            return EXIT_SAFE
        if not args.yes:
            if not sys.stdin.isatty():
                raise ConsoleError("maintenance", "refusing to run without confirmation", "pass --yes")
            word = cluster.name if len(nodes) > 1 else nodes[0]
            what = f"Drain {nodes[0]} for hardware work" if drain else f"Maintain {', '.join(nodes)}"
            answer = input(f"{what} on {cluster.name}? Type {word} to confirm: ")
            if answer.strip() != word:
                print("not confirmed; nothing done", file=out)
                return EXIT_SAFE
        await lock.acquire()
        try:
            _refuse_if_unfinished(cluster, identity)  # again, under the lock
            kind = "drain" if drain else "rolling" if rolling else "node"
            options = {"return_guests": True} if rolling and args.return_guests else None
            run = MaintenanceRun.start(cluster.name, nodes, steps, svc, printer, kind, identity.to_dict(), options)
            await lock.note(run.journal.run_id)
            watch = AvailabilityWatch(svc)
            await watch.start()
            try:
                state = await _drive(run, args.on_failure)
            finally:
                await watch.stop()
            print(inert_block("\n".join([end_report(run, state), *watch.lines()])), file=out)
            _say_if_paused(run, state, out)
            return _exit_for(state)
        finally:
            await lock.release()

    return await _with_sources(cluster, go)


def _say_if_paused(run: MaintenanceRun, state: str, out: TextIO) -> None:
    if state == "paused" and run.engine is not None:
        print(inert(run.engine.hold_text), file=out)


def _parking(return_guests: bool) -> str:
    return ("Guests stay on the upgraded nodes they move to (each container restarts at most once)"
            + ("; at the end they all go back home (--return-guests)." if return_guests
               else "; --return-guests would move them home at the end."))


def _refuse_if_unfinished(cluster: ClusterConfig, identity: ClusterIdentity) -> None:
    pending = unfinished_runs(cluster.name, identity)
    if pending:
        raise ConsoleError("maintenance", f"run {pending[-1].run_id} is unfinished (a node may still be drained)",
                           "`labconsole maintenance resume` or `... rollback` it first")


async def _resume_or_rollback(cluster: ClusterConfig, what: str, on_failure: str, out: TextIO) -> int:
    printer = Printer(out)

    async def go(svc: MaintenanceServices) -> Any:
        identity = await cluster_identity(svc)
        runs = unfinished_runs(cluster.name, identity)
        if not runs:
            print("no unfinished maintenance run of this cluster", file=out)
            return EXIT_OK
        journal = runs[-1]
        if journal.header().get("kind") == "upgrade":  # h-upgguest: guest/firewall upgrades have their own steps
            raise ConsoleError("maintenance", f"run {journal.run_id} is a guest upgrade",
                               f"`labconsole upgrade {what}` it")
        lock = MaintenanceLock(cluster.name, svc, await online_nodes(svc))
        await lock.acquire(journal.run_id)
        try:
            run = MaintenanceRun.resume(journal, steps_for_kind(journal.header().get("kind")), svc, printer)
            if run.engine is not None:
                restore_plan(svc, run.engine.node, run.engine.ctx.facts)
            print(f"{what} run {journal.run_id}: node {run.engine.node if run.engine else '-'} "
                  f"state {run.state}", file=out)
            if what == "rollback":
                state = await run.rollback() if run.engine else "done"
            else:
                state = await _drive(run, on_failure, resume=True)
            print(inert_block(end_report(run, state)), file=out)
            _say_if_paused(run, state, out)
            return _exit_for(state)
        finally:
            await lock.release()

    return await _with_sources(cluster, go)


async def _identity_and_holder(cluster: ClusterConfig) -> tuple[ClusterIdentity | None, Holder | None, str | None]:
    """This cluster's identity and who holds its cluster lock; (None, None, why) when unreachable."""
    async def go(svc: MaintenanceServices) -> Any:
        identity = await cluster_identity(svc)
        holder = None
        if svc.has("proxmox") and getattr(svc.sources, "ssh", None) is not None:
            lock = ClusterDirLock(svc.ssh, await online_nodes(svc), cluster.name)
            try:
                holder = await lock.holder()
            except ConsoleError:
                holder = None
        return identity, holder, None

    try:
        return await _with_sources(cluster, go, writable=False)
    except ConsoleError as exc:
        return None, None, exc.message


def status(cluster: ClusterConfig, out: TextIO) -> int:
    identity, remote, why = asyncio.run(_identity_and_holder(cluster))
    j = latest_run(cluster.name, identity)
    if j is None:
        print("no maintenance run recorded for this cluster"
              + (f" ({identity.describe()})" if identity else ""), file=out)
        return EXIT_OK
    head = j.header()
    recs = list(j.records())
    done = [r["node"] for r in recs if r["event"] == "node-done"]
    last = next((r for r in reversed(recs) if r["event"] in ("apply-start", "apply-done", "apply-failed",
                                                             "undo-start", "undo-done", "undo-failed")), None)
    state = j.last_state() or "new"
    lock = ClusterLock(cluster.name)
    dead = remote is not None and died_here(remote)
    live = lock.held() or (remote is not None and remote.run == j.run_id and not dead)
    if state in ("running", "rolling_back") and not j.finished() and not live:
        state = "interrupted"  # its console died mid-step: resume or roll back
    print(f"run {j.run_id} ({head.get('kind')}) nodes {names(head['nodes'])}: {state}"
          f"{' (finished)' if j.finished() else ' (unfinished: resume or rollback)'}", file=out)
    recorded = recorded_identity(head)
    print(f"  cluster: {recorded.describe() if recorded else 'not recorded (a run from an older version)'}"
          + ("" if identity else f"; could not check it is the one configured as {cluster.name}: {why}"), file=out)
    print(f"  nodes done: {names(done)}", file=out)
    if last:
        print(f"  last: {last['event']} {last.get('step')} on {last.get('node')}"
              + (f": {last['error']}" if last.get("error") else ""), file=out)
    _say_recovery(recs, out)
    if state == "paused" and not j.finished():
        held = next((r for r in reversed(recs) if r["event"] == "held"), None)
        node = held.get("node") if held else head["nodes"][0]
        print(f"  waiting for you: {node} is drained for hardware work; `labconsole maintenance rejoin {node}` "
              "when done, or `labconsole maintenance rollback`", file=out)
    if remote is not None and dead:
        print(f"  cluster lock left by a console that is gone ({remote.describe()}): "
              "the next resume, rollback or run here takes it over", file=out)
    elif remote is not None:
        print(f"  cluster lock held by {remote.describe()}", file=out)
    elif lock.held():
        h = lock.holder()
        print(f"  lock held by pid {h.pid if h else '?'} on {h.host if h else 'this machine'}: a run is in progress",
              file=out)
    if j.finished() and state == "done":
        return EXIT_OK
    if live and state in ("running", "rolling_back"):
        return EXIT_OK  # in progress elsewhere: nothing to do here
    return EXIT_SAFE if state in ("rolled_back", "failed", "interrupted", "done", "paused") else EXIT_ATTENTION


def _say_recovery(recs: list[dict], out: TextIO) -> None:
    """A rolling run overlaps a node's preflight and drain with Ceph's recovery after the node before
    it (ceph_recovery.py): while that node's D5 has not passed, say so."""
    left = next((r for r in reversed(recs) if r["event"] == "apply-done" and r.get("step") == "V5"), None)
    if left is None:
        return
    later = (left.get("facts") or {}).get("recovery_waited_by")
    if not later or any(r["event"] == "apply-done" and r.get("step") == "D5" and r.get("node") == later
                        for r in recs[recs.index(left):]):
        return
    print(f"  Ceph may still recover after {left['node']}: {later}'s D5 waits for every PG active+clean "
          f"before any of {later}'s OSDs stop", file=out)


def main(args: argparse.Namespace, config: Config, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    cluster = config.cluster(getattr(args, "cluster", None))
    if args.maint_cmd == "status":
        return status(cluster, out)
    if args.maint_cmd == "plan":
        return asyncio.run(_plan(cluster, args.node, args.json, out, tuple(args.accept_downtime)))
    if args.maint_cmd in ("run", "drain"):
        return asyncio.run(_run(cluster, args, out))
    if args.maint_cmd == "rejoin":
        from console.maintenance.cli_rejoin import rejoin

        return asyncio.run(rejoin(cluster, args.node, args.on_failure, out))
    if args.maint_cmd in ("resume", "rollback"):
        return asyncio.run(_resume_or_rollback(cluster, args.maint_cmd, getattr(args, "on_failure", "stop"), out))
    raise ConsoleError("maintenance", f"unknown command {args.maint_cmd}")
