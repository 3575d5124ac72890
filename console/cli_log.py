"""`labconsole log`: the console's own command log, every mutating call labconsole
made (API or SSH) with time, target, result and duration."""

from __future__ import annotations

import argparse
import time
from typing import Any

from console.cli_ops import console, emit_json


def add_parsers(sub: Any, common) -> None:
    p = sub.add_parser("log", help="the console's command log: every change labconsole made")
    common(p, False)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--limit", type=int, default=100, metavar="N", help="the newest N records (default 100)")
    p.add_argument("--all-clusters", action="store_true",
                   help="every cluster's changes (default: the --cluster or default cluster's)")


def _cluster_name(args: argparse.Namespace, load) -> str | None:
    """The cluster whose records to show; None (all) when asked, or when there is no config to name one."""
    from console.errors import ConsoleError

    if args.all_clusters:
        return None
    try:
        return load(args).cluster(getattr(args, "cluster", None)).name
    except ConsoleError:
        if getattr(args, "cluster", None):
            raise  # an unknown --cluster is an error, not "show everything"
        return None


def run(args: argparse.Namespace, load) -> int:
    from rich.text import Text

    from console.ops.command_log import log_path, read

    cluster = _cluster_name(args, load)
    rows = read(args.limit, cluster=cluster)
    if args.json:
        emit_json(rows)
        return 0
    con = console()
    if not rows:
        on = f" on {cluster}" if cluster else ""
        con.print(Text(f"no changes recorded{on} yet ({log_path()})", style="dim"))
    for r in rows:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.get("time") or 0))
        ok = bool(r.get("ok"))
        con.print(Text.assemble((when, "dim"), f" {r.get('kind', ''):<8} {str(r.get('target', '')):<10} ",
                                str(r.get("action", "")), ("  ok" if ok else "  FAILED", "green" if ok else "red"),
                                (f"  {float(r.get('duration') or 0):.1f} s", "dim")))
        if not ok:
            con.print(Text(f"    {r.get('result', '')}", style="red"))
    return 0
