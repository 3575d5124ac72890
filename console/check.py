"""`labconsole check`: one concurrent round of every source (then the slow reports read
through them), the health rules, and the story they tell (console.incidents): verdicts
per layer, incidents with their effects, maintenance-expected and silenced findings that
do not count.

Exit codes follow the monitoring-plugin convention: 0 OK, 1 WARNING,
2 CRITICAL, 3 UNKNOWN.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import TextIO

from console.config_model import ClusterConfig
from console.health import evaluate
from console.incidents import Story, tell
from console.inert import inert
from console.layers import LAYER_OF_SOURCE, REPORT_NAMES
from console.model import Finding
from console.poller import Snapshot

EXIT_CODES = {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}
CLOSE_WAIT = 1.0  # s for closing connections after the round
LABELS = {"critical": ("CRIT", "bold red"), "warning": ("WARN", "yellow"), "unknown": ("UNKN", "magenta"),
          "info": ("INFO", "dim")}
DOT = {"ok": ("●", "green"), "warn": ("▲", "yellow"), "stale": ("▲", "yellow"), "crit": ("✖", "red"),
       "unknown": ("?", "magenta"), "off": ("·", "dim")}


def headline(name: str, snap: Snapshot, now: float | None = None) -> str:
    """One line for a source: its verdict's summary (console.verdict), as the tiles say it."""
    now = snap.ok_at if now is None and snap.ok_at is not None else (now or 0.0)
    story = tell({name: snap}, now)
    return story.sources[name].summary if name in story.sources else "ok"


def story_of(cluster: str, snaps: dict[str, Snapshot], findings: list[Finding], now: float) -> Story:
    """The one evaluation `check` reports: maintenance runs and silences of this cluster included."""
    from console import silences
    from console.maintenance_view import active_runs

    return tell(snaps, now, active_runs(cluster), silences.load(cluster), findings)


def incident_starts(cluster: str, story: Story) -> dict[str, float]:
    """incident key -> epoch start, from the event timeline the console records in the state dir
    (console.event_store; ~90 ms per MB of it). Empty when nothing was recorded."""
    from console.event_store import read_all
    from console.incident_start import incident_starts as starts_of

    try:
        events = read_all(cluster)
    except OSError:
        return {}
    return starts_of(story.incidents, events) if events else {}


def _since(started: float | None) -> str:
    return "" if started is None else time.strftime("  (since %Y-%m-%d %H:%M)", time.localtime(started))


def report_json(cluster: str, snaps: dict[str, Snapshot], story: Story, now: float,
                starts: dict[str, float] | None = None) -> str:
    return json.dumps(report_doc(cluster, snaps, story, now, starts), indent=2)


def report_doc(cluster: str, snaps: dict[str, Snapshot], story: Story, now: float,
               starts: dict[str, float] | None = None) -> dict:
    """What `check --json` prints of one cluster."""
    layers, reports = {}, {}
    for name, s in snaps.items():
        if name in REPORT_NAMES:  # no layer of its own: its findings count in the layer it feeds
            reports[name] = {"layer": LAYER_OF_SOURCE[name], "ok": s.error is None and s.data is not None,
                             "error": s.error, "age_s": None if (age := s.age(now)) is None else round(age, 1)}
            continue
        v = story.sources.get(name) or story.layers.get(name)
        layers[name] = {
            "configured": s.configured,
            "ok": s.configured and s.error is None and s.data is not None,
            "level": v.level if v else None,
            "error": s.error,
            "latency_ms": None if s.latency is None else round(s.latency * 1000, 1),
            "age_s": None if (age := s.age(now)) is None else round(age, 1),
            "summary": v.summary if v else "ok",
        }
    doc = {"cluster": cluster, "status": story.status, "exit_code": story.exit_code, "layers": layers,
           "reports": reports,
           "vrrp_instances": {v.key.split("/", 1)[1]: {"level": v.level, "summary": v.summary}
                              for v in story.instances},
           "vrrp_sync_groups": {v.key.split("/", 1)[1]: {"level": v.level, "summary": v.summary}
                                for v in story.groups},
           "findings": [a.to_dict() for a in story.findings],
           "incidents": [{**i.to_dict(), "started": (starts or {}).get(i.key)} for i in story.incidents],
           "maintenance": [{"run": r.run_id, "nodes": list(r.nodes), "state": r.state, "error": r.error}
                           for r in story.runs]}
    return doc


def _label(a) -> tuple[str, str]:
    if a.silenced_by:
        return "SIL ", "dim"
    if a.expected_run and a.finding.severity != "info":
        return "EXP ", "dim"
    return LABELS.get(a.counted, ("UNKN", "magenta"))


def shown_incidents(story: Story) -> list:
    """Incidents worth a line: all but a lone info finding (a maintenance run always shows)."""
    return [i for i in story.incidents if i.severity != "info" or i.effects or i.expected_run]


def report_text(cluster: str, snaps: dict[str, Snapshot], story: Story, out: TextIO,
                starts: dict[str, float] | None = None) -> None:
    """One unindented line per incident (severity, layer, text), its effects indented beneath."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    con = Console(file=out, highlight=False, soft_wrap=True)
    status = story.status
    colour = {"ok": "green", "warning": "yellow", "critical": "bold red", "unknown": "magenta"}[status]
    # every data string goes through inert once more on its way out (the sources made it inert already)
    con.print(Text.assemble(("labconsole check ", "bold"), (inert(cluster), "bold"), ": ", (status.upper(), colour)))
    table = Table(show_header=False, box=None, pad_edge=False)
    for name in snaps:
        if name in REPORT_NAMES:  # their findings are listed below, under the layer they feed
            continue
        v = story.sources.get(name) or story.layers.get(name)
        mark, style = DOT.get(v.level if v else "unknown", ("?", "magenta"))
        table.add_row(Text(mark, style=style), Text(name), Text(inert(v.summary if v else "")))
    con.print(table)
    shown = shown_incidents(story)
    for inc in shown:
        root = inc.root.finding
        label, style = LABELS.get(inc.severity, ("UNKN", "magenta"))
        if inc.root.silenced_by:
            label, style = "SIL ", "dim"
        con.print(Text.assemble((f"{label} ", style), (f"[{inert(root.layer)}] ", "dim"), inert(root.text),
                                (_since((starts or {}).get(inc.key)), "dim")))
        if root.hint:
            con.print(Text(f"     → {inert(root.hint)}", style="dim"))
        for line in inc.impact:
            con.print(Text.assemble(("    impact: ", "bold"), inert(line)))
        for a in inc.effects:
            f = a.finding
            label, style = _label(a)
            con.print(Text.assemble("    ", (f"{label} ", style), (f"[{inert(f.layer)}] ", "dim"),
                                    (inert(f.text), "dim" if a.expected_run or a.silenced_by else "")))
    if not shown:
        con.print(Text("no problems found", style="green"))


async def check_round(cluster: ClusterConfig) -> tuple[dict[str, Snapshot], list[Finding], float]:
    from console.sources import build_hub
    from console.sources.reports import poll_round

    hub, actions = build_hub(cluster, read_only=True)
    try:
        snaps = await poll_round(hub)  # the sources, then the slow reports through them
    finally:
        try:  # closing is best effort and must not stretch the run past its timeout
            async with asyncio.timeout(CLOSE_WAIT):
                await actions.sources.close()
        except TimeoutError:
            pass
    now = time.monotonic()
    return snaps, evaluate(snaps, now), now


def run_check(cluster: ClusterConfig, as_json: bool = False, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    snaps, findings, now = asyncio.run(check_round(cluster))
    story = story_of(cluster.name, snaps, findings, now)
    starts = incident_starts(cluster.name, story)
    if as_json:
        print(report_json(cluster.name, snaps, story, now, starts), file=out)
    else:
        report_text(cluster.name, snaps, story, out, starts)
    return story.exit_code


def run_check_all(config, as_json: bool = False, out: TextIO | None = None) -> int:
    """`check --all-clusters`: every configured cluster polled concurrently, one block each (JSON: a
    list of what `check --json` prints of each); the exit code is the worst cluster's."""
    from console.cluster_glance import all_clusters_round, judge, worst_status

    out = out or sys.stdout
    stories = [(c, snaps, judge(c.name, snaps, now), now) for c, snaps, now in asyncio.run(all_clusters_round(config))]
    if as_json:
        print(json.dumps([report_doc(c.name, snaps, story, now, incident_starts(c.name, story))
                          for c, snaps, story, now in stories], indent=2), file=out)
    else:
        for i, (c, snaps, story, _) in enumerate(stories):
            if i:
                print(file=out)
            report_text(c.name, snaps, story, out, incident_starts(c.name, story))
    return EXIT_CODES[worst_status(story.status for _, _, story, _ in stories)]
