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


def run(args: argparse.Namespace, load) -> int:
    from rich.text import Text

    from console.ops.command_log import log_path, read

    rows = read(args.limit)
    if args.json:
        emit_json(rows)
        return 0
    con = console()
    if not rows:
        con.print(Text(f"no changes recorded yet ({log_path()})", style="dim"))
    for r in rows:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.get("time") or 0))
        ok = bool(r.get("ok"))
        con.print(Text.assemble((when, "dim"), f" {r.get('kind', ''):<8} {str(r.get('target', '')):<10} ",
                                str(r.get("action", "")), ("  ok" if ok else "  FAILED", "green" if ok else "red"),
                                (f"  {float(r.get('duration') or 0):.1f} s", "dim")))
        if not ok:
            con.print(Text(f"    {r.get('result', '')}", style="red"))
    return 0
