"""`labconsole swarm ACTION ...`: scale SERVICE N | update SERVICE IMAGE[:TAG] |
upgrade SERVICE [IMAGE|:TAG] | force-update SERVICE | rollback SERVICE |
availability NODE active|pause|drain | logs SERVICE [--follow] | services | images.

`update` changes the image with the service's own update settings (as
`docker service update --image`); `upgrade` is the safe one
(console/ops/swarm_upgrade.py): one task at a time, start-first with 2+
replicas, Swarm rolls back by itself when a new task fails within --monitor
seconds; without an image it takes the newest digest of the service's tag.
It reports converged (exit 0) or rolled back / paused / not settled (exit 2).
`images` asks the registry whether each service's tag has a newer digest.

Each write says what it will do and asks first (--yes skips that), then follows
the service until its update settles. Exit 0 when done, 2 when refused, bad
input, or failed; the reason is one line on stderr and nothing was sent.
"""

from __future__ import annotations

import argparse
from typing import Any

from console.cli_ops import confirm, console, emit_json, fail, progress_printer, with_sources
from console.errors import ConsoleError

ACTIONS = ("scale", "update", "upgrade", "force-update", "rollback", "availability", "logs", "services", "images")
NEEDS = {"scale": "replica count N", "update": "IMAGE[:TAG] (or :TAG)", "availability": "active|pause|drain"}


def add_parsers(sub: Any, common) -> None:
    p = sub.add_parser("swarm", help="swarm: scale|update|upgrade|force-update|rollback SERVICE, availability NODE, "
                                     "logs, services, images",
                       description="scale SERVICE N | update SERVICE IMAGE[:TAG] | upgrade SERVICE [IMAGE|:TAG] | "
                                   "force-update SERVICE | rollback SERVICE | availability NODE active|pause|drain | "
                                   "logs SERVICE [--follow] | services | images")
    common(p, False)
    p.add_argument("action", choices=ACTIONS, metavar="ACTION", help=", ".join(ACTIONS))
    p.add_argument("target", nargs="?", metavar="SERVICE|NODE")
    p.add_argument("arg", nargs="?", metavar="ARG", help="scale: N; update: IMAGE[:TAG]; availability: the state")
    p.add_argument("--yes", action="store_true", help="do not ask")
    p.add_argument("--json", action="store_true", help="machine-readable result")
    p.add_argument("--wait", type=float, default=300.0, metavar="S", help="how long to follow the update (0: not)")
    p.add_argument("--follow", "-f", action="store_true", help="logs: keep streaming (ctrl+c ends)")
    p.add_argument("--tail", type=int, default=100, metavar="N", help="logs: lines from before")
    p.add_argument("--image", metavar="IMAGE|:TAG", help="upgrade: the image or tag to go to (default: the newest "
                   "digest of the service's tag)")
    p.add_argument("--monitor", type=float, default=5.0, metavar="S",
                   help="upgrade: seconds a new task must run before it counts as good (default 5)")


def run(args: argparse.Namespace, load) -> int:
    if args.action not in ("services", "images") and not args.target:
        return fail(f"swarm {args.action} needs a {'NODE' if args.action == 'availability' else 'SERVICE'}")
    if args.action in NEEDS and args.arg is None:
        return fail(f"swarm {args.action} {args.target} needs a {NEEDS[args.action]}")
    if args.action == "scale":  # bad counts are refused before connecting
        from console.errors import ConsoleError
        from console.ops.swarm import parse_replicas

        try:
            args.arg = parse_replicas(args.arg)
        except ConsoleError as exc:
            return fail(str(exc))
    return with_sources(args, load, lambda s: _swarm(s, args))


async def _swarm(sources, args) -> int:
    from console.ops import swarm as sw
    from console.ops.common import guard

    action = args.action
    if action == "services":
        return _services(args, await sources.get("swarm").fetch() if sources.get("swarm") else None)
    if action == "logs":
        return await _logs(sources, args)
    if action == "images":
        from console.cli_swarm_upgrade import images

        return await images(sources, args)
    guard(sources, f"swarm {action} {args.target}")  # read-only: refused before any question
    if action == "upgrade":
        from console.cli_swarm_upgrade import upgrade

        return await upgrade(sources, args)
    say = progress_printer(not args.json)
    if action == "availability":
        try:
            sw.check_availability(args.arg)  # before the question
        except ConsoleError as exc:
            return fail(exc.message)
        if not confirm(sw.availability_sentence(args.target, args.arg), args.yes):
            return fail("cancelled: nothing was done")
        return _result(args, await sw.set_availability(sources, args.target, args.arg))
    info = await sw.find_service(sources, args.target)
    if action == "scale":
        if info.spec.mode != "replicated":
            return fail(f"service {info.name} is global: it runs one task per node and cannot be scaled")
        sentence, call = sw.scale_sentence(info, args.arg), sw.scale
    elif action == "update":
        image = sw.with_tag(info.spec, args.arg)
        if image == info.spec.image:
            return fail(f"service {info.name} already runs {image} (to restart its tasks, use force-update)")
        sentence, call, args.arg = sw.update_sentence(info, image), sw.update_image, image
    elif action == "force-update":
        sentence, call = sw.force_sentence(info), sw.force_update
    else:
        sentence, call = sw.rollback_sentence(info), sw.rollback
    if not confirm(sentence, args.yes):
        return fail("cancelled: nothing was done")
    extra = (args.arg,) if action in ("scale", "update") else ()
    res = await call(sources, info.id, *extra, progress=say, wait=args.wait, info=info)
    return _result(args, res)


def _result(args, res) -> int:
    from rich.text import Text

    if args.json:
        emit_json(res.to_dict())
    if not res.ok:
        return fail(f"swarm {args.action} {args.target}: {res.message}")
    if not args.json:
        console().print(Text.assemble(("OK ", "green bold"), res.sentence, " ", (res.message, "dim")))
    return 0


def _services(args, state) -> int:
    from rich.table import Table
    from rich.text import Text

    if state is None:
        return fail("swarm: not configured for this cluster")
    if args.json:
        from dataclasses import asdict

        emit_json({"services": [asdict(s) for s in state.services], "nodes": [asdict(n) for n in state.nodes]})
        return 0
    t = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("SERVICE", "MODE", "REPLICAS", "IMAGE", "UPDATE"):
        t.add_column(col)
    for s in state.services:
        t.add_row(Text(s.name), Text(s.mode), Text(f"{s.replicas_running}/{s.replicas_desired}"), Text(s.image),
                  Text(s.update_state or ""))
    console().print(t)
    return 0


async def _logs(sources, args) -> int:
    import asyncio
    import sys

    from rich.text import Text

    from console.ops import swarm as sw

    con = console()
    stop = asyncio.Event()

    def out(line: str) -> None:
        if args.json:
            import json

            print(json.dumps({"line": line}), flush=True)
        else:
            con.print(Text(line))
            sys.stdout.flush()

    try:
        await sw.stream_logs(sources, args.target, out, stop, tail=args.tail, follow=args.follow)
    except (KeyboardInterrupt, asyncio.CancelledError):
        stop.set()
    return 0
