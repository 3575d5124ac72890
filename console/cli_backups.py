"""`labconsole backups`: backup jobs with their last run, the last backup of every
guest across the backup storages, guests no job covers, failed jobs.
Exit 0 all fresh, 1 some stale, 2 some never backed up or a last job failed."""

from __future__ import annotations

import argparse
import time
from typing import Any

from console.cli_ops import console, emit_json, with_sources


def add_parsers(sub: Any, common) -> None:
    p = sub.add_parser("backups", help="backup jobs, last backup per guest, guests not covered",
                       description="Exit 0 all fresh, 1 some stale, 2 some never backed up or a last job failed.")
    common(p, False)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--max-age", type=float, metavar="DAYS", help="override max_backup_age of the config")


def run(args: argparse.Namespace, load) -> int:
    return with_sources(args, load, lambda s: _backups(s, args))


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "never"


async def _backups(sources, args) -> int:
    from rich.table import Table
    from rich.text import Text

    from console.health_backups import backup_rules
    from console.ops.backups import DAY, backup_report

    max_age = args.max_age or sources.cluster.max_backup_age
    rep = await backup_report(sources, max_age)
    code = rep.exit_code()
    findings = list(backup_rules(rep))
    if args.json:
        from dataclasses import asdict

        emit_json(rep.to_dict() | {"findings": [asdict(f) for f in findings]})
        return code
    con = console()
    word = {0: ("all fresh", "green"), 1: ("some stale", "yellow"), 2: ("PROBLEMS", "bold red")}[code]
    con.print(Text.assemble(("labconsole backups ", "bold"), (sources.cluster.name, "bold"), ": ", word,
                            (f"  (max age {max_age:g} days)", "dim")))
    jobs = Table(title="jobs", box=None, pad_edge=False, header_style="bold", title_justify="left")
    for col in ("JOB", "SCHEDULE", "STORAGE", "SELECTION", "LAST RUN", "RESULT"):
        jobs.add_column(col)
    for j in rep.jobs:
        res = "disabled" if not j.enabled else (j.last_run.status if j.last_run else "no run seen")
        style = "dim" if not j.enabled else ("green" if j.last_run and j.last_run.ok else "red")
        jobs.add_row(Text(j.id), Text(j.schedule), Text(f"{j.storage} ({rep.storages.get(j.storage, '?')})"),
                     Text(j.selection), Text(_when(j.last_run.start if j.last_run else None)), Text(res, style=style))
    con.print(jobs)
    guests = Table(title="guests", box=None, pad_edge=False, header_style="bold", title_justify="left")
    for col in ("VMID", "NAME", "LAST BACKUP", "AGE", "STORAGE", "JOBS", "STATE"):
        guests.add_column(col)
    for g in rep.guests:
        style = {"fresh": "green", "stale": "yellow", "never": "red"}.get(g.state, "magenta")
        guests.add_row(Text(str(g.vmid)), Text(g.name), Text(_when(g.last.time if g.last else None)),
                       Text(f"{g.age_s / DAY:.1f} d" if g.age_s is not None else "-"),
                       Text(g.last.storage if g.last else "-"), Text(",".join(g.covered_by) or "none"),
                       Text(g.state, style=style))
    con.print(guests)
    if rep.unread_nodes:
        con.print(Text(f"not read (offline): the backup storages of {', '.join(rep.unread_nodes)}", style="magenta"))
    if rep.not_covered:
        con.print(Text(f"not covered by any job: {', '.join(map(str, rep.not_covered))}", style="yellow"))
    for f in findings:
        label, style = {"critical": ("CRIT", "bold red"),
                        "warning": ("WARN", "yellow")}.get(f.severity, ("UNKN", "magenta"))
        con.print(Text.assemble((f"{label} ", style), f.text))
    return code
