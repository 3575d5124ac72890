"""`labconsole swarm upgrade SERVICE [IMAGE|:TAG]` and `labconsole swarm images` (see cli_swarm.py)."""

from __future__ import annotations

from typing import Any

from console.cli_ops import confirm, console, emit_json, fail, progress_printer


async def upgrade(sources: Any, args: Any) -> int:
    from rich.text import Text

    from console.errors import ConsoleError
    from console.ops import swarm_upgrade as su

    if args.arg and args.image and args.arg != args.image:
        return fail(f"swarm upgrade {args.target}: two images given ({args.arg}, {args.image}); give one")
    try:
        plan = await su.plan_upgrade(sources, args.target, args.image or args.arg, monitor=args.monitor)
    except ConsoleError as exc:
        return fail(str(exc))
    if not confirm(su.upgrade_sentence(plan), args.yes):
        return fail("cancelled: nothing was done")
    res = await su.upgrade(sources, plan.info.id, plan=plan, progress=progress_printer(not args.json),
                           wait=args.wait)
    if args.json:
        emit_json(res.to_dict())
    if not res.ok:
        return fail(f"swarm upgrade {args.target}: {res.outcome or 'failed'}: {res.message}")
    if not args.json:
        console().print(Text.assemble(("OK ", "green bold"), res.sentence, " ", (res.message, "dim")))
    return 0


async def images(sources: Any, args: Any) -> int:
    from rich.table import Table
    from rich.text import Text

    from console.ops.swarm_images import NEWER, service_image_updates

    src = sources.get("swarm")
    if src is None:
        return fail("swarm: not configured for this cluster")
    from console.sources.registry import docker_credentials

    rows = await service_image_updates(await src.fetch(), mirrors=dict(src.cfg.registry_mirrors),
                                      credentials=docker_credentials(), timeout=src.cfg.timeout)
    if args.json:
        emit_json([r.to_dict() for r in rows])
        return 0
    t = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("SERVICE", "IMAGE", "REGISTRY"):
        t.add_column(col)
    for r in rows:
        t.add_row(Text(r.service), Text(r.image), Text(r.text, style="yellow" if r.status == NEWER else
                                                       ("dim" if r.status != "up to date" else "")))
    console().print(t)
    return 0
