"""Health rules for backups: a guest without a backup within max_backup_age,
one never backed up, a backup job whose last run failed. Pure: the report
comes from console.ops.backups.backup_report (polled by console/sources/reports.py).
Findings go to the guests layer (console/layers.py REPORTS): a guest without a
backup is a fact about the guests, shown on their tile and the header's pve dot."""

from __future__ import annotations

from collections.abc import Iterable

from console.layers import LAYER_OF_SOURCE
from console.model import Finding

DAY = 86400.0
LAYER = LAYER_OF_SOURCE["backups"]  # console/layers.py REPORTS


def backup_rules(report) -> Iterable[Finding]:
    """Findings for a console.ops.backups.BackupReport."""
    for job in report.failed_jobs:
        yield Finding("critical", LAYER, f"job {job.id}",
                      f"backup job {job.id} ({job.selection} to {job.storage}) failed its last run: "
                      f"{job.last_run.status}", "read the vzdump task log: labconsole tasks --type vzdump --errors")
    for g in report.guests:
        if g.state == "never":
            why = "no backup job covers it" if not g.covered_by else f"covered by {', '.join(g.covered_by)}"
            yield Finding("critical", LAYER, f"{g.name} ({g.vmid})", f"{g.name} ({g.vmid}) has never been backed up"
                          f" ({why})", f"labconsole guest backup {g.vmid}")
        elif g.state == "stale":
            yield Finding("warning", LAYER, f"{g.name} ({g.vmid})",
                          f"{g.name} ({g.vmid}): last backup {g.age_s / DAY:.1f} days ago (limit "
                          f"{report.max_age_s / DAY:g} days)", f"labconsole guest backup {g.vmid}")
    for node, errors in sorted(report.errors.items()):
        # about the node (console/incident_graph.py): its maintenance or outage explains it
        yield Finding("unknown", LAYER, node, f"backup storage not readable on {node}: {'; '.join(errors)}")
