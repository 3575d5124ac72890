"""`labconsole tasks`: PVE tasks cluster-wide with a filter; `--log UPID` prints a
task's log (`--follow` while it runs); `--cluster-log` the cluster log."""

from __future__ import annotations

import argparse
import time
from typing import Any

from console.cli_ops import console, emit_json, fail, with_sources


def add_parsers(sub: Any, common) -> None:
    p = sub.add_parser("tasks", help="PVE tasks cluster-wide, a task's log, the cluster log")
    common(p, False)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--node", metavar="NODE")
    p.add_argument("--type", metavar="TYPE", help="e.g. qmigrate, vzdump, qmsnapshot")
    p.add_argument("--vmid", metavar="VMID")
    p.add_argument("--errors", action="store_true", help="only failed tasks")
    p.add_argument("--running", action="store_true", help="only running tasks")
    p.add_argument("--limit", type=int, default=50, metavar="N")
    p.add_argument("--log", metavar="UPID", help="print this task's log")
    p.add_argument("--follow", action="store_true", help="with --log: follow it until the task ends")
    p.add_argument("--cluster-log", action="store_true", help="the cluster log instead of the task list")


def run(args: argparse.Namespace, load) -> int:
    return with_sources(args, load, lambda s: _tasks(s, args))


def _when(ts: int | None) -> str:
    return time.strftime("%m-%d %H:%M:%S", time.localtime(ts)) if ts else ""


async def _tasks(sources, args) -> int:
    from rich.table import Table
    from rich.text import Text

    from console.ops import tasks

    if args.log:
        say = None if args.json else (lambda line: console().print(Text(line)))
        lines, status = await tasks.task_log(sources, args.log, follow=args.follow, on_line=say)
        if args.json:
            emit_json({"upid": args.log, "status": status, "lines": lines})
        else:
            console(err=True).print(Text(f"status: {status}", style="bold"))
        return 0 if status in ("OK", "running") else 2
    if args.cluster_log:
        rows = await tasks.cluster_log(sources, args.limit)
        if args.json:
            emit_json([r.to_dict() for r in rows])
            return 0
        con = console()
        for r in rows:
            style = {"error": "red", "warning": "yellow"}.get(r.severity, "")
            con.print(Text.assemble((_when(r.time), "dim"), f" {r.node:<8} {r.tag:<10} ", (r.msg, style)))
        return 0
    flt = tasks.TaskFilter(node=args.node, type=args.type, vmid=args.vmid, errors=args.errors, running=args.running)
    rows = await tasks.cluster_tasks(sources, flt, args.limit)
    if args.json:
        emit_json([t.to_dict() for t in rows])
        return 0
    t = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("START", "END", "NODE", "TYPE", "ID", "USER", "STATUS"):
        t.add_column(col)
    for r in rows:
        style = "cyan" if r.running else ("green" if r.ok else "red")
        t.add_row(Text(_when(r.start)), Text(_when(r.end)), Text(r.node), Text(r.type), Text(r.id), Text(r.user),
                  Text(r.status, style=style))
    console().print(t)
    if not rows:
        return fail("no task matches the filter") if any((args.node, args.type, args.vmid)) else 0
    return 0
