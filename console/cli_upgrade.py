"""`labconsole upgrade list|plan|run|resume|rollback|cleanup`: updates inside guests
and the firewall pair, headless (console/upgrade does the work).

Exit codes: 0 success (or nothing to do); 1 stopped and safe (preflight refused,
rolled back, or stopped for a later resume/rollback); 2 needs attention (a
rollback failed) or an error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any, TextIO

from console.errors import ConsoleError, ReadOnlyError
from console.inert import inert_block

EXIT_OK, EXIT_SAFE = 0, 1  # as `labconsole maintenance` (console/maintenance/cli.py)


def _exit_for(state: str) -> int:
    """A run's end state as an exit code, as for node maintenance (imported late: --help stays light)."""
    from console.maintenance.cli import _exit_for as exit_for

    return exit_for(state)


def add_parsers(sub: Any, common) -> None:
    p = sub.add_parser("upgrade", help="updates inside CTs, VMs and the firewall pair: list|plan|run|resume|...",
                       description="Exit 0 done, 1 stopped safe (refused or rolled back), 2 needs attention.")
    common(p, False)
    s = p.add_subparsers(dest="upgrade_cmd", required=True,
                         metavar="list|plan|run|status|resume|retry|rollback|abort|cleanup")
    ls = s.add_parser("list", help="what is pending on every node, firewall, CT and VM")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.add_argument("--verbose", "-v", action="store_true", help="every package")
    pl = s.add_parser("plan", help="one guest's (or the firewall pair's) preflight; changes nothing")
    pl.add_argument("target", metavar="GUEST|firewalls", nargs="?")
    pl.add_argument("--json", action="store_true")
    pl.add_argument("--all", action="store_true", help=ALL_HELP)  # h-upgall
    rn = s.add_parser("run", help="upgrade one guest (snapshot, upgrade, verify; rollback on failure), "
                                  "or `firewalls`: the pair, BACKUP first")
    rn.add_argument("target", metavar="GUEST|firewalls", nargs="?")
    rn.add_argument("--all", action="store_true", help=ALL_HELP)  # h-upgall
    rn.add_argument("--json", action="store_true", help="with --all: the outcome as JSON (progress on stderr)")
    rn.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    rn.add_argument("--return-guests", action="store_true",  # h-every
                    help="with --all: move every guest back to the node it ran on before, at the end (default: "
                         "guests stay on the upgraded nodes the run put them on, so each container restarts at "
                         "most once)")
    rn.add_argument("--on-failure", choices=("rollback", "stop"), default="rollback",
                    help="roll back to the snapshot at once (default) or stop for resume/rollback later")
    rs = s.add_parser("resume", help="continue an interrupted upgrade run")
    rs.add_argument("--on-failure", choices=("rollback", "stop"), default="rollback")
    s.add_parser("rollback", help="roll back the guest of an interrupted upgrade run")
    st = s.add_parser("status", help="the latest upgrade run: every item's state, what failed, what to do next")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    rt = s.add_parser("retry", help="upgrade again the item the last run stopped at (rolled back) and the items "
                                    "it never reached (read afresh: those still pending)")
    rt.add_argument("--json", action="store_true", help="the outcome as JSON (progress on stderr)")
    rt.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    rt.add_argument("--on-failure", choices=("rollback", "stop"), default="rollback")
    s.add_parser("abort", help="stop the `labconsole upgrade` run going on (on this machine): its step is "
                               "interrupted, `upgrade resume` or `upgrade rollback` later")
    cl = s.add_parser("cleanup", help="remove labconsole-* snapshots whose grace period is over")
    cl.add_argument("--all", action="store_true", help="also those not yet due (of finished runs)")


ALL_HELP = "every node, CT, VM, the firewall pair and every Swarm service, one ordered plan"  # h-upgall


def _target_or_all(args: argparse.Namespace) -> None:  # h-upgall
    if bool(args.target) == bool(args.all):
        raise ConsoleError("upgrade", f"upgrade {args.upgrade_cmd}: name one GUEST (or firewalls), or pass --all")
    if args.upgrade_cmd == "run" and args.json and not args.all:
        raise ConsoleError("upgrade", "upgrade run --json goes with --all")
    if args.upgrade_cmd == "run" and getattr(args, "return_guests", False) and not args.all:
        raise ConsoleError("upgrade", "upgrade run --return-guests goes with --all (one guest's upgrade moves none)")


READS = ("list", "plan", "status")  # the subcommands that change nothing


def run(args: argparse.Namespace, load) -> int:
    from console.cli_ops import fail

    config = load(args)
    cluster = config.cluster(args.cluster)
    try:
        if (args.read_only or cluster.read_only) and args.upgrade_cmd not in READS:
            raise ReadOnlyError(f"upgrade {args.upgrade_cmd}", cluster.name)
        return asyncio.run(main(cluster, args, sys.stdout))
    except ReadOnlyError as exc:  # refused: stopped safe, as `maintenance`
        fail(str(exc))
        return EXIT_SAFE
    except ConsoleError as exc:  # one line, exit 2, as the other operations commands
        return fail(str(exc))


async def main(cluster: Any, args: argparse.Namespace, out: TextIO, **svc_options: Any) -> int:
    """The command on `cluster`; `svc_options` (poll, scale, timeouts) are for tests on a fast sim."""
    from console.sources import build_sources
    from console.upgrade.services import UpgradeServices

    if args.upgrade_cmd in ("status", "abort"):  # the journal and the lock only: no connection
        from console.upgrade import cli_control

        return cli_control.status(cluster, args, out) if args.upgrade_cmd == "status" else \
            cli_control.abort(cluster, out)
    writable = args.upgrade_cmd not in ("list", "plan")
    # list and plan change nothing, but the guest agent's exec is a POST: the sources may write
    # unless the operator or the config says read-only (then VMs behind the agent are not inspected)
    sources = build_sources(cluster, read_only=bool(getattr(args, "read_only", False)))
    try:
        svc = UpgradeServices(cluster, sources, writable=writable, **svc_options)
        cmd = args.upgrade_cmd
        if cmd in ("plan", "run"):  # h-upgall: --all is console/upgrade/everything_cli.py
            _target_or_all(args)
            if args.all:
                from console.upgrade import everything_cli as every

                return await (every.plan_all if cmd == "plan" else every.run_all)(svc, args, out)
        if cmd == "list":
            return await _list(svc, args, out)
        if cmd == "plan":
            return await _plan(svc, args, out)
        if cmd == "run":
            return await _run(svc, args, out)
        if cmd == "retry":
            from console.upgrade import cli_control

            return await cli_control.retry(svc, args, out)
        if cmd in ("resume", "rollback"):
            return await _resume(svc, cmd, getattr(args, "on_failure", "rollback"), out)
        if cmd == "cleanup":
            from console.upgrade.cleanup import remove_expired

            lines = await remove_expired(svc, everything=args.all)
            print("\n".join(lines) or "no labconsole snapshot is due", file=out)
            return EXIT_OK
        raise ConsoleError("upgrade", f"unknown command {cmd}")
    finally:
        await sources.close()


async def _list(svc: Any, args: argparse.Namespace, out: TextIO) -> int:
    from console.upgrade.inventory import inventory, text

    rows = await inventory(svc.sources, svc.cluster)
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], indent=2), file=out)
    else:
        print(inert_block(text(rows, args.verbose)), file=out)
    return EXIT_OK


async def _label(svc: Any, target: str) -> str:
    from console.upgrade.runner import FIREWALLS, find_guest

    if target == FIREWALLS:
        if svc.cluster.vrrp is None or len(svc.cluster.vrrp.firewalls) != 2:
            raise ConsoleError("upgrade", "`firewalls` needs a [vrrp] table with two firewalls in the config")
        return FIREWALLS
    g = find_guest(await svc.pve(), target)
    return f"{g.vmid}/{g.name}"


async def _plan(svc: Any, args: argparse.Namespace, out: TextIO) -> int:
    from console.upgrade.runner import preview

    label = await _label(svc, args.target)
    ok, facts, lines = await preview(svc, label)
    if args.json:
        print(json.dumps({"target": label, "ok": ok, "facts": facts, "lines": lines}, indent=2, default=str),
              file=out)
    else:
        print(inert_block("\n".join([f"Upgrade plan for {label}", *[f"  {x}" for x in lines],
                                     "preflight passed" if ok else "preflight failed: nothing would be changed"])),
              file=out)
    return EXIT_OK if ok else EXIT_SAFE


async def _lock(svc: Any) -> Any:
    from console.maintenance.cluster_lock import MaintenanceLock, online_nodes

    return MaintenanceLock(svc.cluster.name, svc, await online_nodes(svc))


def _refuse_if_unfinished(cluster: str, identity: Any) -> None:
    from console.maintenance.journal import unfinished_runs

    pending = unfinished_runs(cluster, identity)
    if pending:
        head = pending[-1].header()
        how = "upgrade" if head.get("kind") == "upgrade" else "maintenance"
        raise ConsoleError("upgrade", f"run {pending[-1].run_id} ({head.get('kind')}) is unfinished",
                           f"`labconsole {how} resume` or `... rollback` it first")


async def _run(svc: Any, args: argparse.Namespace, out: TextIO) -> int:
    from console.maintenance.cli import Printer
    from console.maintenance.identity import cluster_identity
    from console.upgrade.runner import KIND, UpgradeRun, preview, steps_for

    label = await _label(svc, args.target)
    identity = await cluster_identity(svc)
    lock = await _lock(svc)
    await lock.ensure_free()
    _refuse_if_unfinished(svc.cluster.name, identity)
    ok, facts, lines = await preview(svc, label)
    print(inert_block("\n".join([f"Upgrade of {label}", *[f"  {x}" for x in lines]])), file=out)
    if not ok:
        print("preflight failed: nothing was changed", file=out)
        return EXIT_SAFE
    if _nothing(facts):
        print(f"{label}: nothing pending, nothing to do", file=out)
        return EXIT_OK
    if not args.yes:
        if not sys.stdin.isatty():
            raise ConsoleError("upgrade", "refusing to run without confirmation", "pass --yes")
        answer = input(f"Upgrade {label} on {svc.cluster.name}? Type {label.split('/')[-1]} to confirm: ")
        if answer.strip() != label.split("/")[-1]:
            print("not confirmed; nothing done", file=out)
            return EXIT_SAFE
    await lock.acquire()
    try:
        _refuse_if_unfinished(svc.cluster.name, identity)
        run = UpgradeRun.start(svc.cluster.name, [label], steps_for, svc, Printer(out), KIND, identity.to_dict())
        svc.run_id = run.journal.run_id
        await lock.note(run.journal.run_id)
        t0 = time.monotonic()
        state = await _drive(run, args.on_failure)
        print(inert_block(_report(run, state, time.monotonic() - t0)), file=out)
        return _exit_for(state)
    finally:
        await lock.release()


async def _drive(run: Any, on_failure: str, resume: bool = False) -> str:
    state = await (run.retry() if resume and run.engine is not None else run.run())
    eng = run.engine
    preflight_only = eng is not None and eng.failed_step is not None and eng.failed_step.phase == "preflight"
    if state in ("failed", "interrupted") and (on_failure == "rollback" or preflight_only):
        state = await run.rollback()
    return state


def _nothing(facts: dict) -> bool:
    """Nothing pending for the item (a guest; both firewalls of the pair)."""
    if "backup" in facts and "master" in facts:
        return bool(facts["backup"].get("nothing") and facts["master"].get("nothing"))
    return bool(facts.get("nothing"))


def _last_facts(run: Any) -> dict:
    facts: dict = {}
    for r in run.journal.records():
        if isinstance(r.get("facts"), dict):
            facts = r["facts"]
    return facts


def _report(run: Any, state: str, seconds: float) -> str:
    from console.upgrade.steps_firewall import vip_lines

    eng = run.engine
    lines = [f"run {run.journal.run_id}: {state} after {seconds:.1f} s", *vip_lines(_last_facts(run))]
    if eng is not None and eng.last_error and state != "done":
        lines.append(f"what failed: {eng.last_error}")
    kept = (_last_facts(run).get("backup") or {})
    if state == "rolled_back" and kept.get("keep_upgraded"):
        lines.append(f"firewall {kept.get('name')} stays upgraded and holds the VIPs; the former MASTER is back "
                     "on its snapshot and its checks pass")
    elif state == "rolled_back":
        lines.append("the guest is back on its snapshot and its checks pass; the snapshot was removed")
    elif state == "failed":
        lines.append("stopped: `labconsole upgrade resume` or `labconsole upgrade rollback`")
    elif state == "rollback_failed":
        lines.append("the rollback did not finish: look at the guest; `labconsole upgrade rollback` tries again")
    return "\n".join(lines)


async def _resume(svc: Any, what: str, on_failure: str, out: TextIO) -> int:
    from console.maintenance.cli import Printer
    from console.maintenance.identity import cluster_identity
    from console.maintenance.journal import unfinished_runs
    from console.upgrade.runner import KIND, UpgradeRun, steps_for

    identity = await cluster_identity(svc)
    runs = [j for j in unfinished_runs(svc.cluster.name, identity) if j.header().get("kind") == KIND]
    if not runs:
        print("no unfinished upgrade run of this cluster", file=out)
        return EXIT_OK
    journal = runs[-1]
    from console.upgrade.everything_run import is_everything  # h-upgall

    if is_everything(journal):
        from console.upgrade.everything_cli import resume_all

        return await resume_all(svc, journal, what, on_failure, out)
    lock = await _lock(svc)
    await lock.acquire(journal.run_id)
    try:
        svc.run_id = journal.run_id
        run = UpgradeRun.resume(journal, steps_for, svc, Printer(out))
        print(f"{what} run {journal.run_id}: {run.engine.node if run.engine else '-'} state {run.state}", file=out)
        t0 = time.monotonic()
        if what == "rollback":
            state = await run.rollback() if run.engine else "done"
        else:
            state = await _drive(run, on_failure, resume=True)
        if state == "done" and run.engine is None and not run.journal.finished():
            run.finish("done")
        print(inert_block(_report(run, state, time.monotonic() - t0)), file=out)
        return _exit_for(state)
    finally:
        await lock.release()
