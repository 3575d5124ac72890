"""`labconsole events [--json] [--since 1h] [--limit N]`: the event timeline, headless.

Reads what the console recorded (<state dir>/events/<cluster>.jsonl and its
rotated files) and the maintenance journal's step events, oldest first like a
log (the TUI's :events view shows them newest first). No cluster is
contacted. Exit 0; 2 for a bad --since or an unknown cluster.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time

from console.inert import inert

EXIT_OK, EXIT_USAGE = 0, 2
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)?\s*$", re.I)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def add_events_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="a JSON array of events")
    parser.add_argument("--since", metavar="AGE", help="only events of the last AGE: 90s, 30m, 1h, 2d, 1w")
    parser.add_argument("--limit", type=int, metavar="N", help="only the newest N events")


def parse_age(text: str) -> float:
    """'1h' -> 3600.0; ValueError with a message saying what is accepted."""
    m = _DURATION.match(text or "")
    if not m:
        raise ValueError(f"--since {text!r}: expected a number with s, m, h, d or w (e.g. 30m, 1h, 2d)")
    return float(m.group(1)) * _UNITS[(m.group(2) or "s").lower()]


def _cluster_name(args: argparse.Namespace) -> str:
    if getattr(args, "cluster", None):
        return args.cluster
    from console.config import ConfigError, load_config

    try:
        return load_config(getattr(args, "config", None)).cluster(None).name
    except (ConfigError, OSError):
        from console.event_store import events_dir

        recorded = sorted(p.name[:-len(".jsonl")] for p in events_dir().glob("*.jsonl")) if events_dir().is_dir() else []
        if len(recorded) == 1:
            return recorded[0]
        raise


def format_line(e) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.time))
    sev = {"critical": "crit", "warning": "warn"}.get(e.severity, e.severity)
    return f"{stamp}  {sev:<4}  {e.layer:<11} {inert(e.subject):<14} {inert(e.text)}"


def run_events(args: argparse.Namespace) -> int:
    from console.event_recorder import journal_events
    from console.event_store import events_file, read_all

    try:
        since = time.time() - parse_age(args.since) if args.since else None
    except ValueError as exc:
        print(f"labconsole events: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.limit is not None and args.limit < 0:
        print("labconsole events: --limit must be 0 or more", file=sys.stderr)
        return EXIT_USAGE
    cluster = _cluster_name(args)
    events = read_all(cluster, since) + journal_events(cluster, since)
    events.sort(key=lambda e: e.time)
    if args.limit is not None:
        events = events[-args.limit:] if args.limit else []
    if args.json:
        print(json.dumps([e.to_json() for e in events], ensure_ascii=False, indent=1))
        return EXIT_OK
    if not events:
        where = events_file(cluster)
        print(f"no events for cluster {cluster}" + (f" in the last {args.since}" if args.since else "")
              + f" (recorded by the console in {where})")
        return EXIT_OK
    for e in events:
        print(format_line(e))
    return EXIT_OK
