"""`labconsole check`: one concurrent round of every source plus the health rules.

Exit codes follow the monitoring-plugin convention: 0 OK, 1 WARNING,
2 CRITICAL, 3 UNKNOWN.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import asdict
from typing import TextIO

from console.config_model import ClusterConfig
from console.health import evaluate, overall
from console.inert import inert
from console.model import Finding
from console.poller import Snapshot

EXIT_CODES = {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}
CLOSE_WAIT = 1.0  # s for closing connections after the round


def headline(name: str, snap: Snapshot, now: float | None = None) -> str:
    """One line per layer: the essentials, as the Health screen's tiles say them.
    A layer whose last poll failed says so first; its summary is then the last known."""
    if not snap.configured:
        return "not configured"
    if snap.data is None:
        return f"no data: {snap.error or 'not polled'}"
    summary = _summary(name, snap.data)
    if snap.error:
        age = snap.age(now) if now is not None else None
        old = f", {age:.0f} s old" if age is not None else ""
        return f"FAILED (last known{old}: {summary})"
    return summary


def _summary(name: str, d) -> str:
    if name == "proxmox":
        online = sum(n.status == "online" for n in d.nodes)
        running = sum(g.status == "running" for g in d.guests)
        q = "quorate" if d.quorate else "NO QUORUM"
        return f"{q}, {online}/{len(d.nodes)} nodes online, guests {running}/{len(d.guests)} running"
    if name == "ceph":
        pct = 100 * d.bytes_used / d.bytes_total if d.bytes_total else 0.0
        return (f"{d.health}, OSDs {d.num_up_osds} up/{d.num_in_osds} in of {d.num_osds}, "
                f"PGs {d.clean_pgs}/{d.num_pgs} clean, {pct:.0f}% used")
    if name == "swarm":
        ready = sum(n.state == "ready" for n in d.nodes)
        conv = sum(s.replicas_running >= s.replicas_desired for s in d.services)
        return f"nodes {ready}/{len(d.nodes)} ready, services {conv}/{len(d.services)} converged"
    if name == "traefik":
        counts = {"enabled": 0, "warning": 0, "disabled": 0}
        for r in d.routers:
            counts[r.status] = counts.get(r.status, 0) + 1
        return f"routers {counts['enabled']} ok, {counts['warning']} warning, {counts['disabled']} error"
    if name == "vrrp":
        if not any(fw.answering for fw in d.firewalls):
            return "FAILED: no firewall answered"
        masters = [fw.name for fw in d.firewalls for i in fw.instances if fw.answering and i.state == "MASTER"]
        if len(masters) > 1:
            return f"SPLIT BRAIN: {', '.join(masters)} MASTER"
        return f"VIP on {masters[0]}" if masters else "NO MASTER"
    return "ok"


def report_json(cluster: str, snaps: dict[str, Snapshot], findings: list[Finding], status: str, now: float) -> str:
    layers = {}
    for name, s in snaps.items():
        layers[name] = {
            "configured": s.configured,
            "ok": s.configured and s.error is None and s.data is not None,
            "error": s.error,
            "latency_ms": None if s.latency is None else round(s.latency * 1000, 1),
            "age_s": None if s.age(now) is None else round(s.age(now), 1),
            "summary": headline(name, s, now),
        }
    return json.dumps({"cluster": cluster, "status": status, "exit_code": EXIT_CODES[status],
                       "layers": layers, "findings": [asdict(f) for f in findings]}, indent=2)


def report_text(cluster: str, snaps: dict[str, Snapshot], findings: list[Finding], status: str,
                out: TextIO, now: float | None = None) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    con = Console(file=out, highlight=False, soft_wrap=True)
    colour = {"ok": "green", "warning": "yellow", "critical": "bold red", "unknown": "magenta"}[status]
    # every data string goes through inert once more on its way out (the sources made it inert already)
    con.print(Text.assemble(("labconsole check ", "bold"), (inert(cluster), "bold"), ": ", (status.upper(), colour)))
    table = Table(show_header=False, box=None, pad_edge=False)
    for name, s in snaps.items():
        mark = "·" if not s.configured else ("✖" if s.error else "●")
        style = "dim" if not s.configured else ("red" if s.error else "green")
        table.add_row(Text(mark, style=style), Text(name), Text(inert(headline(name, s, now))))
    con.print(table)
    shown = [f for f in findings if f.severity != "info"]
    for f in shown:
        sev = {"critical": ("CRIT", "bold red"), "warning": ("WARN", "yellow"), "unknown": ("UNKN", "magenta")}
        label, style = sev.get(f.severity, ("INFO", "dim"))
        con.print(Text.assemble((f"{label} ", style), (f"[{inert(f.layer)}] ", "dim"), inert(f.text)))
        if f.hint:
            con.print(Text(f"     → {inert(f.hint)}", style="dim"))
    if not shown:
        con.print(Text("no problems found", style="green"))


async def check_round(cluster: ClusterConfig) -> tuple[dict[str, Snapshot], list[Finding], float]:
    from console.sources import build_hub

    hub, actions = build_hub(cluster, read_only=True)
    try:
        snaps = await hub.poll_all_once()
    finally:
        try:  # closing is best effort and must not stretch the run past its timeout
            await asyncio.wait_for(actions.sources.close(), CLOSE_WAIT)
        except (TimeoutError, asyncio.TimeoutError):
            pass
    now = time.monotonic()
    return snaps, evaluate(snaps, now), now


def run_check(cluster: ClusterConfig, as_json: bool = False, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    snaps, findings, now = asyncio.run(check_round(cluster))
    status = overall(findings)
    if as_json:
        print(report_json(cluster.name, snaps, findings, status, now), file=out)
    else:
        report_text(cluster.name, snaps, findings, status, out, now)
    return EXIT_CODES[status]
