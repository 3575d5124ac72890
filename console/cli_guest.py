"""`labconsole guests` (the inventory) and `labconsole guest ACTION VMID ...`:
start, shutdown, reboot, stop, migrate, snapshot, rollback, delete-snapshot,
backup; snapshots, targets and show (read-only); evacuate NODE.

Exit 0 when the action's task ended OK (or there was nothing to do), 2 when it
was refused or failed; the reason is one line on stderr.
"""

from __future__ import annotations

import argparse
from typing import Any

from console.cli_ops import confirm, console, emit_json, fail, progress_printer, with_sources

ACTIONS = ("start", "shutdown", "reboot", "stop", "migrate", "snapshot", "rollback", "delete-snapshot", "backup",
           "snapshots", "targets", "evacuate", "show")
READS = ("snapshots", "targets", "show")
BATCH_ACTIONS = ("start", "shutdown", "reboot", "stop", "migrate")  # VMID may be a list: 112,113
NEEDS_ARG = {"migrate": "TARGET node", "snapshot": "snapshot NAME", "rollback": "snapshot NAME",
             "delete-snapshot": "snapshot NAME"}


def add_parsers(sub: Any, common) -> None:
    p = sub.add_parser("guests", help="every VM and container: node, state, memory, HA, lock")
    common(p, False)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--node", metavar="NODE", help="only the guests on this node")

    g = sub.add_parser("guest", help="act on one guest: start|shutdown|reboot|stop|migrate|snapshot|rollback|"
                       "delete-snapshot|backup VMID [ARG]",
                       description="Each action says what it will do and asks first (--yes skips that), "
                                   "then follows the PVE task to its end. `evacuate NODE` moves every guest off "
                                   "a node to the best fit.")
    common(g, False)
    g.add_argument("action", choices=ACTIONS, metavar="ACTION", help=", ".join(ACTIONS))
    g.add_argument("vmid", metavar="VMID", help="the guest (for evacuate: the node)")
    g.add_argument("arg", nargs="?", metavar="ARG",
                   help="migrate: target node; snapshot/rollback/delete-snapshot: name")
    g.add_argument("--yes", action="store_true", help="do not ask")
    g.add_argument("--json", action="store_true", help="machine-readable result")
    g.add_argument("--timeout", type=int, metavar="S", help="shutdown/reboot: seconds PVE waits for the guest")
    g.add_argument("--description", default="", metavar="TEXT", help="snapshot: its description")
    g.add_argument("--vmstate", action="store_true", help="snapshot: include the VM's RAM")
    g.add_argument("--start", action="store_true", help="rollback: start the guest afterwards")
    g.add_argument("--storage", metavar="STORAGE", help="backup: the backup storage (default: pbs, else the first)")
    g.add_argument("--mode", choices=("snapshot", "suspend", "stop"), default="snapshot", help="backup mode")
    g.add_argument("--wait", type=float, default=600.0, metavar="S", help="how long to follow the task")


def run(args: argparse.Namespace, load) -> int:
    if args.command == "guests":
        return with_sources(args, load, lambda s: _guests(s, args))
    if args.action in NEEDS_ARG and not args.arg:
        return fail(f"guest {args.action} needs a {NEEDS_ARG[args.action]}: "
                    f"labconsole guest {args.action} {args.vmid} {NEEDS_ARG[args.action].split()[-1]}")
    if "," in args.vmid and args.action in BATCH_ACTIONS:
        try:
            vmids = [int(v) for v in args.vmid.split(",") if v.strip()]
        except ValueError:
            return fail(f"{args.vmid!r} is not a list of VMIDs (such as 112,113)")
        return with_sources(args, load, lambda s: _batch(s, args, vmids))
    if args.action != "evacuate":
        try:
            args.vmid = int(args.vmid)
        except ValueError:
            return fail(f"{args.vmid!r} is not a VMID (a number such as 112)")
    return with_sources(args, load, lambda s: _guest(s, args))


async def _guests(sources, args) -> int:
    from rich.table import Table
    from rich.text import Text

    from console.ops.guests import list_guests

    rows = [g for g in await list_guests(sources) if not args.node or g.node == args.node]
    if args.json:
        from dataclasses import asdict

        emit_json([asdict(g) for g in rows])
        return 0
    t = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("VMID", "NAME", "TYPE", "NODE", "STATUS", "MEM", "HA", "LOCK"):
        t.add_column(col)
    for g in rows:
        mem = f"{g.mem / 1024**3:.1f}/{g.maxmem / 1024**3:.1f} GiB" if g.maxmem else ""
        style = "green" if g.status == "running" else ("dim" if g.status == "stopped" else "yellow")
        t.add_row(Text(str(g.vmid)), Text(g.name), Text(g.word), Text(g.node), Text(g.status, style=style),
                  Text(mem), Text(g.ha_state or ""), Text(g.lock or "", style="yellow"))
    console().print(t)
    return 0


def _result(args, res) -> int:
    from rich.text import Text

    if args.json:
        emit_json(res.to_dict())
        if not res.ok:
            fail(f"guest {args.action} {args.vmid}: {res.message}")
    else:
        con = console()
        if res.ok:
            con.print(Text.assemble(("OK ", "green bold"), res.message or "done",
                                    (f"  ({res.duration:.1f} s)", "dim")))
        else:
            return fail(f"guest {args.action} {args.vmid}: {res.message}")
    return 0 if res.ok else 2


async def _guest(sources, args) -> int:
    from console.ops import backups, guests, snapshots
    from console.ops.common import guard

    action, vmid = args.action, args.vmid
    say = progress_printer(not args.json)
    if action not in READS:
        guard(sources, f"guest {action} {vmid}")  # read-only: refused before any question
    if action == "show":
        from console.cli_guest_show import show

        return await show(sources, args)
    if action == "snapshots":
        return _show_snapshots(args, await snapshots.list_snapshots(sources, vmid))
    if action == "targets":
        return _show_targets(args, await guests.migrate_options(sources, vmid))
    if action == "evacuate":
        return await _evacuate(sources, args, say)
    if action in guests.POWER_ACTIONS:
        g = await guests.find_guest(sources, vmid)
        sentence = guests.power_sentence(g, action, args.timeout)
        if not _confirmed(args, sentence, typed=str(vmid) if action == "stop" else None):
            return fail("cancelled: nothing was done")
        res = await guests.power(sources, vmid, action, args.timeout, say, args.wait, guest=g)
    elif action == "migrate":
        opt = await guests.migrate_options(sources, vmid)
        guests.check_target(opt, args.arg)  # bad targets are refused before the question
        if not _confirmed(args, guests.migrate_sentence(opt, args.arg)):
            return fail("cancelled: nothing was done")
        res = await guests.migrate(sources, vmid, args.arg, say, args.wait, options=opt)
    elif action == "snapshot":
        g = await guests.find_guest(sources, vmid)
        snapshots.check_name(args.arg)
        if not _confirmed(args, snapshots.create_sentence(g, args.arg, args.description, args.vmstate)):
            return fail("cancelled: nothing was done")
        res = await snapshots.create(sources, vmid, args.arg, args.description, args.vmstate, say, args.wait)
    elif action == "rollback":
        lst = await snapshots.list_snapshots(sources, vmid)
        snap = next((s for s in lst.snapshots if s.name == args.arg), None)
        if snap is None:
            have = ", ".join(s.name for s in lst.snapshots) or "none"
            return fail(f"{lst.guest.label} has no snapshot {args.arg!r} (it has: {have})")
        if not _confirmed(args, snapshots.rollback_sentence(lst.guest, snap, args.arg, args.start)):
            return fail("cancelled: nothing was done")
        res = await snapshots.rollback(sources, vmid, args.arg, args.start, say, args.wait)
    elif action == "delete-snapshot":
        g = await guests.find_guest(sources, vmid)
        if not _confirmed(args, f"Delete snapshot {args.arg!r} of {g.label}."):
            return fail("cancelled: nothing was done")
        res = await snapshots.delete(sources, vmid, args.arg, say, args.wait)
    else:  # backup
        g = await guests.find_guest(sources, vmid)
        storage = args.storage or await _default_storage(sources, g.node)
        if not _confirmed(args, backups.backup_sentence(g, storage, args.mode)):
            return fail("cancelled: nothing was done")
        res = await backups.backup_now(sources, vmid, storage, args.mode, say, args.wait)
    return _result(args, res)


async def _default_storage(sources, node: str) -> str:
    from console.ops.backups import backup_storages

    avail = await backup_storages(sources, node)
    return "pbs" if "pbs" in avail else (avail[0] if avail else "")


def _confirmed(args, sentence: str, typed: str | None = None) -> bool:
    return confirm(sentence, args.yes, typed)


def _show_snapshots(args, lst) -> int:
    from dataclasses import asdict

    from rich.text import Text

    if args.json:
        emit_json({"guest": asdict(lst.guest), "current_parent": lst.current_parent,
                   "snapshots": [asdict(s) for s in lst.snapshots]})
        return 0
    import time as _t

    con = console()
    con.print(Text(f"snapshots of {lst.guest.label}", style="bold"))
    for depth, s in lst.tree():
        when = _t.strftime("%Y-%m-%d %H:%M", _t.localtime(s.time)) if s.time else "?"
        here = "  <- you are here" if s.name == lst.current_parent else ""
        con.print(Text.assemble("  " * depth + "└ ", (s.name, "bold"), f"  {when}",
                                ("  +RAM" if s.vmstate else ""), (f"  {s.description}", "dim"), (here, "cyan")))
    if not lst.snapshots:
        con.print(Text("  none", style="dim"))
    return 0


def _show_targets(args, opt) -> int:
    from dataclasses import asdict

    from rich.text import Text

    if args.json:
        emit_json(asdict(opt) | {"blocked": opt.blocked})
        return 0
    con = console()
    con.print(Text(f"{opt.guest.label} on {opt.guest.node}: migration {opt.mode}"
                   + (f", about {opt.downtime_s} s down" if opt.downtime_s else ""), style="bold"))
    if opt.blocked:
        con.print(Text(f"  blocked: {opt.blocked}", style="red"))
    for t in opt.targets:
        state = "ok" if t.allowed else t.reason
        con.print(Text.assemble(f"  {t.name:<12}", f"{t.free_mem / 1024**3:6.1f} GiB free  ",
                                (state, "green" if t.allowed else "red")))
    return 0


async def _evacuate(sources, args, say) -> int:

    from rich.text import Text

    from console.ops import guest_batch

    node = args.vmid
    moves = await guest_batch.evacuate_plan(sources, node)
    if not _confirmed(args, guest_batch.evacuate_sentence(node, moves)):
        return fail("cancelled: nothing was done")
    con = console(err=True)

    def changed(item) -> None:
        con.print(Text(f"[{item.state}] {item.action} {item.vmid}" + (f" -> {item.target}" if item.target else "")
                       + (f": {item.result.message}" if item.result and item.state == "failed" else "")))

    items = await guest_batch.evacuate(sources, node, say, changed, args.wait)
    ok = all(i.state == "done" for i in items) and all(m.target for m in moves)
    if args.json:
        emit_json({"node": node, "items": [{"vmid": i.vmid, "target": i.target, "state": i.state,
                                            "result": i.result.to_dict() if i.result else None} for i in items],
                   "staying": [{"vmid": m.guest.vmid, "reason": m.reason} for m in moves if not m.target],
                   "ok": ok})
    elif not ok:
        return fail(f"evacuate {node}: " + "; ".join(
            [f"{i.vmid} {i.result.message}" for i in items if i.state != "done" and i.result]
            + [f"{m.guest.vmid} stays ({m.reason})" for m in moves if not m.target]))
    else:
        console().print(Text(f"OK {node} evacuated: {len(items)} guest(s) moved", style="green"))
    return 0 if ok else 2


async def _batch(sources, args, vmids: list[int]) -> int:
    """Several guests, one after the other: a visible queue and a result per guest."""
    from rich.text import Text

    from console.ops import guest_batch, guests
    from console.ops.common import guard

    guard(sources, f"guest {args.action} {args.vmid}")
    items = [guest_batch.BatchItem(v, args.action, args.arg) for v in vmids]
    found = {g.vmid: g for g in await guests.list_guests(sources)}
    missing = [v for v in vmids if v not in found]
    if missing:
        return fail(f"no guest {', '.join(map(str, missing))} in the cluster: nothing was done")
    labels = ", ".join(found[v].label for v in vmids)
    where = f" to {args.arg}" if args.action == "migrate" else ""
    typed = args.vmid if args.action == "stop" else None
    if not _confirmed(args, f"{args.action.capitalize()} {len(vmids)} guests{where}, one after the other: {labels}.",
                      typed=typed):
        return fail("cancelled: nothing was done")
    con = console(err=True)

    def changed(item) -> None:
        msg = f": {item.result.message}" if item.result and item.state == "failed" else ""
        con.print(Text(f"[{item.state}] {item.action} {item.vmid}{msg}"))

    await guest_batch.run_batch(sources, items, None, changed, args.wait)
    ok = all(i.state == "done" for i in items)
    if args.json:
        emit_json([{"vmid": i.vmid, "state": i.state, "result": i.result.to_dict() if i.result else None}
                   for i in items])
    elif ok:
        console().print(Text(f"OK {len(items)} guests: {args.action}", style="green"))
    else:
        return fail("; ".join(f"{i.vmid}: {i.result.message}" for i in items if i.state != "done" and i.result))
    return 0 if ok else 2
