"""`labconsole silence add SUBJECT --for 2h --reason TEXT | list | remove ID` (console.silences)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from typing import Callable, TextIO

from console import silences


def add_parser(sub, common: Callable[[argparse.ArgumentParser, bool], None]) -> None:
    """Register `silence` on the top-level sub-parsers (`common` adds --config/--cluster)."""
    p = sub.add_parser("silence", help="silence a known finding for a while: add|list|remove",
                       description="A silenced finding is still shown, marked, but `check` does not count it. "
                                   "SUBJECT is a finding's subject (pve3, osd.2, VI_1) or layer:subject.")
    common(p, False)
    actions = p.add_subparsers(dest="silence_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="silence SUBJECT for a duration")
    add.add_argument("subject", metavar="SUBJECT")
    add.add_argument("--for", dest="duration", required=True, metavar="DURATION", help="90s, 15m, 2h, 1d, 1h30m")
    add.add_argument("--reason", required=True, metavar="TEXT", help="why (shown next to the silence)")
    lst = actions.add_parser("list", help="the active silences")
    rm = actions.add_parser("remove", help="end a silence now")
    rm.add_argument("silence_id", metavar="ID")
    for p2 in (add, lst, rm):
        common(p2, False)
        p2.add_argument("--json", action="store_true", help="machine-readable output")


def run_silence_command(args: argparse.Namespace, cluster: str, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    now = time.time()
    action = args.silence_command
    if action == "add":
        s = silences.add(cluster, args.subject, silences.parse_duration(args.duration), args.reason, now)
        _emit(args, out, asdict(s), f"silenced {s.subject} for {s.remaining(now)} (id {s.id}): {s.reason}")
    elif action == "remove":
        s = silences.remove(cluster, args.silence_id, now)
        _emit(args, out, asdict(s), f"removed silence {s.id} on {s.subject}")
    else:
        current = silences.load(cluster, now)
        if getattr(args, "json", False):
            print(json.dumps([asdict(s) for s in current], indent=2), file=out)
        elif not current:
            print("no active silences", file=out)
        else:
            for s in current:
                until = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.until))
                print(f"{s.id}  {s.subject:<20} until {until} ({s.remaining(now)} left)  {s.reason}", file=out)
    return 0


def _emit(args: argparse.Namespace, out: TextIO, doc: dict, text: str) -> None:
    print(json.dumps(doc, indent=2) if getattr(args, "json", False) else text, file=out)
