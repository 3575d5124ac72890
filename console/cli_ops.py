"""What the operations commands (guests, guest, backups, tasks, log, swarm, vip, ceph, shell, node) share:
registering their parsers, opening the cluster's sources, the confirmation
prompt, one-line errors (exit 2) and rich output with data as plain Text.

Kept cheap to import: the command modules are imported when they run.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

EXIT_FAIL = 2
MODULES = {"guests": "console.cli_guest", "guest": "console.cli_guest", "backups": "console.cli_backups",
           "tasks": "console.cli_tasks", "log": "console.cli_log",
           # h-operate2: swarm, vip, ceph flags, shells, node software
           "swarm": "console.cli_swarm", "vip": "console.cli_operate", "ceph": "console.cli_operate",
           "shell": "console.cli_operate", "node": "console.cli_operate",
           "upgrade": "console.cli_upgrade"}  # h-upgguest: guest and firewall-pair upgrades
COMMANDS = tuple(MODULES)


def add_parsers(sub: Any, common: Callable[[argparse.ArgumentParser, bool], None]) -> None:
    for name in dict.fromkeys(MODULES.values()):
        importlib.import_module(name).add_parsers(sub, common)


def run(args: argparse.Namespace, load: Callable[[argparse.Namespace], Any]) -> int:
    return importlib.import_module(MODULES[args.command]).run(args, load)


def fail(message: str) -> int:
    from console.inert import inert
    from console.logs import redact

    print(f"labconsole: {inert(redact(message))}", file=sys.stderr)
    return EXIT_FAIL


def console(err: bool = False):
    from rich.console import Console

    return Console(file=sys.stderr if err else sys.stdout, highlight=False, soft_wrap=True)


def progress_printer(enabled: bool = True) -> Callable[[str], None]:
    from rich.text import Text

    con = console(err=True)

    def say(line: str) -> None:
        if enabled:
            con.print(Text(f"  {line}", style="dim"))

    return say


def confirm(sentence: str, yes: bool, typed: str | None = None, stream=None) -> bool:
    """The sentence says exactly what will happen; --yes skips the question. With `typed`, the
    operator must type that word (hard stop)."""
    from rich.text import Text

    if yes:
        return True
    con = console(err=True)
    con.print(Text(sentence, style="bold"))
    stream = stream or sys.stdin
    if typed is not None:
        print(f"Type {typed} to confirm: ", end="", file=sys.stderr, flush=True)
        answer = stream.readline().strip()
        return answer == typed
    print("Proceed? [y/N] ", end="", file=sys.stderr, flush=True)
    return stream.readline().strip().lower() in ("y", "yes")


def emit_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def with_sources(args: argparse.Namespace, load: Callable[[argparse.Namespace], Any],
                 body: Callable[[Any], Awaitable[int]]) -> int:
    """Run `body(sources)` on the cluster, sources closed after; a ConsoleError is one line, exit 2."""
    from console.errors import ConsoleError
    from console.sources import build_sources

    config = load(args)
    cluster = config.cluster(args.cluster)
    sources = build_sources(cluster, read_only=bool(args.read_only))

    async def main() -> int:
        try:
            return await body(sources)
        finally:
            await sources.close()

    try:
        return asyncio.run(main())
    except ConsoleError as exc:
        return fail(str(exc))
