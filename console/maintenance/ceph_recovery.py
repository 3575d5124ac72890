"""One host's OSDs down at a time: the rule a rolling run overlaps its nodes around.

After a node's reboot its OSDs come back and Ceph recovers the writes they missed:
degraded PGs become active+clean again (V5, waited for in R1). While that goes on, one
thing must not happen: a second host's OSDs going down (U1's packages may restart them,
U2 reboots the host), which would take PGs below min_size and halt their I/O [PC:
"never restart OSDs on two hosts at once"]. Nothing else of the next node's
maintenance touches an OSD: its preflight (reads), P8's apt update and package
download, and its drain D1-D4 (VIP, Swarm, HA maintenance, migrations; guests' disks
are RBD, reached over the network from any node).

So in a rolling run R1 unsets noout and leaves the wait to the next node: that node's
preflight and drain run while Ceph recovers, and its D5 waits until every PG is
active+clean again (`wait_recovered`) before it checks ok-to-stop and sets noout. Every
step that can stop an OSD (U1, U2) comes after D5, so the next host's OSDs never go down
before Ceph is back to health. The run's last node waits in its own R1. P5 of the next
node accepts Ceph still catching up on the previous node (`catching_up`: every OSD up and
in, every PG active, only degradation left), and nothing worse; D5 is P5 run again.
"""

from __future__ import annotations

from typing import Any

from console.maintenance.engine import StepContext
from console.model import CephState

# what Ceph reports while it recovers the writes an OSD missed (and the noout flag being lifted)
RECOVERY_CHECKS = frozenset({"PG_DEGRADED", "OBJECT_DEGRADED", "OSDMAP_FLAGS", "OSD_FLAGS"})


def not_clean(ceph: CephState) -> str | None:
    """What is left to recover, or None when every PG is active+clean."""
    if not ceph.num_pgs or ceph.clean_pgs == ceph.num_pgs:
        return None
    bad = ", ".join(f"{n} {s}" for s, n in ceph.pg_states if s != "active+clean")
    return f"{ceph.clean_pgs}/{ceph.num_pgs} active+clean ({bad})"


def catching_up(ceph: CephState) -> bool:
    """Ceph only recovers: every OSD up and in, every PG active (I/O flows), and no health check
    but degradation and flags. Anything else (an OSD down, a PG inactive) is a problem P5 refuses."""
    return (all(o.up and o.in_ for o in ceph.osds)
            and all(s.split("+")[0] == "active" for s, _ in ceph.pg_states)
            and all(c.code in RECOVERY_CHECKS for c in ceph.checks))


def previous_node(svc: Any, node: str) -> str | None:
    """The node this rolling run maintained just before `node` (it may have left its recovery to us)."""
    run = getattr(svc, "rolling_run", None)
    if not run:
        return None
    order, done = run
    before = [n for n in order[:order.index(node)] if n in done] if node in order else []
    return before[-1] if before else None


def next_node(svc: Any, node: str) -> str | None:
    """The node this rolling run maintains after `node`, whose D5 waits for the recovery."""
    run = getattr(svc, "rolling_run", None)
    if not run:
        return None
    order, done = run
    later = [n for n in order[order.index(node) + 1:] if n not in done] if node in order else []
    return later[0] if later else None


async def wait_recovered(ctx: StepContext, svc: Any, after: str) -> None:
    """Until every PG is active+clean (V5) after `after`'s maintenance: the gate before any
    further OSD goes down. Bounded by the "pgs_clean" limit."""

    async def clean() -> str | None:
        return not_clean(await svc.ceph())

    await svc.wait_for(ctx, f"Ceph recovered after {after} (every PG active+clean)", clean, svc.limit("pgs_clean"))
