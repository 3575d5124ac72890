"""Snapshots the guest upgrades left (labconsole-RUNID), removed once their grace
period is over. The expiry is in the snapshot's description ("remove after
2026-12-04T18:30:00Z"), written when it was taken; a snapshot of a run that is
not finished (it may still need it to roll back) is never removed."""

from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass
from typing import Any

from console.errors import ConsoleError
from console.maintenance.journal import Journal, journal_dir
from console.upgrade.services import SNAPSHOT_PREFIX

AFTER_RE = re.compile(r"remove after (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")


@dataclass
class LeftSnapshot:
    vmid: int
    guest: str
    name: str
    expires: float | None  # epoch; None: no expiry in its description
    run_finished: bool

    def due(self, now: float) -> bool:
        return self.run_finished and self.expires is not None and self.expires <= now


def expiry(description: str) -> float | None:
    m = AFTER_RE.search(description or "")
    return float(calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%SZ"))) if m else None


def run_finished(cluster: str, run_id: str) -> bool:
    path = journal_dir(cluster) / f"{run_id}.jsonl"
    if not path.exists():
        return True  # a run of another console (or an old one): its own journal is not here
    try:
        return Journal(path).finished()
    except ConsoleError:
        return False


async def left_snapshots(sources: Any, cluster: str, vmids: set[int] | None = None) -> list[LeftSnapshot]:
    from console.ops import snapshots as S
    from console.ops.guests import list_guests

    out = []
    for g in await list_guests(sources):
        if g.template or (vmids is not None and g.vmid not in vmids):
            continue
        try:
            lst = await S.list_snapshots(sources, g.vmid, g)
        except ConsoleError:
            continue
        for s in lst.snapshots:
            if s.name.startswith(SNAPSHOT_PREFIX):
                run = s.name.removeprefix(SNAPSHOT_PREFIX)
                out.append(LeftSnapshot(g.vmid, g.name, s.name, expiry(s.description), run_finished(cluster, run)))
    return out


async def remove_expired(svc: Any, vmids: set[int] | None = None, now: float | None = None,
                         everything: bool = False) -> list[str]:
    """Delete the due snapshots (with `everything`, those of finished runs whatever their expiry);
    one line per snapshot deleted or refused."""
    from console.ops import snapshots as S

    now = time.time() if now is None else now
    lines = []
    for s in await left_snapshots(svc.sources, svc.cluster.name, vmids):
        if not (s.due(now) or (everything and s.run_finished)):
            continue
        res = await S.delete(svc.sources, s.vmid, s.name, follow_timeout=svc.timeout(600.0))
        lines.append(f"deleted snapshot {s.name} of {s.guest} ({s.vmid})" if res.ok
                     else f"could not delete snapshot {s.name} of {s.guest} ({s.vmid}): {res.message}")
    return lines
