"""`labconsole vip failback`, `labconsole ceph flag set|unset FLAG`,
`labconsole shell TARGET` and `labconsole node NODE` (versions, subscription,
APT repositories with their problems).

Writes ask first (--yes skips that) and are refused read-only; exit 0 when
done, 2 when refused, cancelled or failed, the reason on one line.
"""

from __future__ import annotations

import argparse
from typing import Any

from console.cli_ops import confirm, console, emit_json, fail, progress_printer, with_sources


def add_parsers(sub: Any, common) -> None:
    v = sub.add_parser("vip", help="move the VIP back to the preferred firewall (measures the gap)")
    common(v, False)
    v.add_argument("action", choices=("failback",), metavar="ACTION", help="failback")
    v.add_argument("--yes", action="store_true", help="do not ask")
    v.add_argument("--json", action="store_true", help="machine-readable result")
    v.add_argument("--timeout", type=float, default=30.0, metavar="S", help="how long to wait for the new MASTER")

    c = sub.add_parser("ceph", help="ceph flag set|unset FLAG (noout, norebalance, nobackfill, ...)")
    common(c, False)
    c.add_argument("what", choices=("flag", "flags"), metavar="flag|flags")
    c.add_argument("action", nargs="?", choices=("set", "unset"), metavar="set|unset")
    c.add_argument("flag", nargs="?", metavar="FLAG")
    c.add_argument("--yes", action="store_true", help="do not ask")
    c.add_argument("--json", action="store_true", help="machine-readable result")

    s = sub.add_parser("shell", help="open a shell: a node, a guest (VMID) or a swarm task (service.slot)")
    common(s, False)
    s.add_argument("target", metavar="TARGET", help="node name, VMID, or swarm task (service.slot)")
    s.add_argument("--print", dest="print_only", action="store_true", help="print the ssh command, do not run it")

    n = sub.add_parser("node", help="a node's versions, subscription and APT repositories with their problems")
    common(n, False)
    n.add_argument("node", metavar="NODE")
    n.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace, load) -> int:
    body = {"vip": _vip, "ceph": _ceph, "shell": _shell, "node": _node}[args.command]
    if args.command == "ceph" and args.what == "flag" and not (args.action and args.flag):
        return fail("ceph flag needs set|unset and a FLAG: labconsole ceph flag set noout")
    return with_sources(args, load, lambda s: body(s, args))


async def _vip(sources, args) -> int:
    from rich.text import Text

    from console.ops import firewall as fw
    from console.ops.common import guard

    guard(sources, "fail the VIP back to the preferred firewall")
    vrrp = sources.get("vrrp")
    if vrrp is None:
        return fail("vrrp: not configured for this cluster")
    plan = fw.plan_failback(sources, await vrrp.fetch())
    if plan.needed and not confirm(fw.failback_sentence(plan), args.yes):
        return fail("cancelled: nothing was done")
    res = await fw.failback(sources, progress_printer(not args.json), args.timeout, plan=plan)
    if args.json:
        emit_json(res.to_dict())
    else:
        console().print(Text.assemble(("OK ", "green bold"), res.message))
    return 0


async def _ceph(sources, args) -> int:
    from rich.text import Text

    from console.ops import ceph_flags as cf
    from console.ops.common import guard

    if args.what == "flags" or args.action is None:
        flags = sorted(await cf.current_flags(sources))
        if args.json:
            emit_json({"flags": flags})
        else:
            console().print(Text("flags set: " + (", ".join(flags) or "none")))
        return 0
    on = args.action == "set"
    cf.check_flag(args.flag)
    guard(sources, f"ceph osd {args.action} {args.flag}")
    sentence = cf.flag_sentence(args.flag, on, await cf.current_flags(sources))
    typed = args.flag if on and args.flag in cf.RISKY else None
    if not sentence.startswith("Nothing") and not confirm(sentence, args.yes, typed):
        return fail("cancelled: nothing was done")
    res = await cf.set_flag(sources, args.flag, on)
    if args.json:
        emit_json(res.to_dict())
    if not res.ok:
        return fail(f"ceph flag {args.action} {args.flag}: {res.message}")
    if not args.json:
        console().print(Text.assemble(("OK ", "green bold"), res.message))
    return 0


async def _shell(sources, args) -> int:
    import shlex

    from console.ops.shells import resolve

    plan = await resolve(sources, args.target)
    if args.print_only:
        print(shlex.join(plan.argv))
        return 0
    import asyncio
    import subprocess

    progress_printer(True)(plan.words)
    proc = await asyncio.to_thread(subprocess.run, list(plan.argv))
    return 0 if proc.returncode == 0 else 2


async def _node(sources, args) -> int:
    from rich.text import Text

    from console.ops.node_detail import node_software

    sw = await node_software(sources, args.node)
    if args.json:
        emit_json(sw.to_dict())
        return 0
    con = console()
    newer = "" if sw.kernel_installed in ("", sw.kernel) else f" (installed {sw.kernel_installed}: a reboot boots it)"
    con.print(Text(f"{sw.node}: pve-manager {sw.pve_version or '?'}, kernel {sw.kernel or '?'}{newer}", style="bold"))
    sub = sw.subscription + (f" ({sw.subscription_level})" if sw.subscription_level else "")
    con.print(Text(f"  subscription: {sub}" + (f", next due {sw.next_due}" if sw.next_due else "")))
    con.print(Text("  repositories:"))
    for r in sw.repos:
        con.print(Text.assemble("    ", ("on  " if r.enabled else "off ", "green" if r.enabled else "dim"),
                                r.line, (f"  ({r.path})", "dim")))
    for p in sw.problems:
        style = {"critical": "red bold", "warning": "yellow"}.get(p.severity, "dim")
        con.print(Text.assemble("  ", (f"{p.severity}: ", style), p.text))
        if p.fix:
            con.print(Text(f"    fix: {p.fix}", style="dim"))
    for e in sw.errors:
        con.print(Text(f"  not read: {e}", style="yellow"))
    return 0
