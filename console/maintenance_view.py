"""The unfinished maintenance runs of a cluster, as console.incidents needs them.

A small adapter on the journal's public read side only (the maintenance
package is being reworked; keep this the one place that reads it). It depends
on, from console.maintenance.journal:
  unfinished_runs(cluster) -> [Journal]          runs with no run-end record
  latest_run(cluster) -> Journal | None          with finished() and its run-end "t"
  Journal.run_id, Journal.records(), Journal.last_state()
  records: "run-start" {nodes}, any record's "node", "facts"["plan"] as
           Plan.to_dict() (node, firewall, vip_move, swarm_node, osds)
and, when present, ClusterLock(cluster).held() to tell "in progress" from
"paused". A run that ended moments ago still explains what it changed
(for SETTLE_SECONDS). Reads only; never takes the lock.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from console.errors import ConsoleError
from console.incidents import MaintenanceRun
from console.inert import cap, inert

log = logging.getLogger(__name__)
SETTLE_SECONDS = 120.0  # after its end a run's effects take a few polls to clear: still expected meanwhile
FAILBACK_SETTLE = 30.0  # a firewall still in FAULT this long after the VIP fail-back ended pages
PAUSED_STATES = {"failed": "paused after a failure", "rollback_failed": "paused: rollback failed",
                 "paused": "drained for hardware work, waiting for rejoin",
                 "interrupted": "interrupted"}


def _lock_held(cluster: str) -> bool | None:
    try:
        from console.maintenance.journal import ClusterLock  # moves to the cluster filesystem later
    except ImportError:
        return None
    try:
        return ClusterLock(cluster).held()
    except OSError:
        return None


def run_from_records(run_id: str, records: list[dict], last_state: str | None,
                     lock_held: bool | None) -> MaintenanceRun:
    """Pure: the run's current node, what it disturbs on purpose, and its state."""
    nodes: list[str] = []
    current = None
    plans: dict[str, dict] = {}
    error = None
    for r in records:
        if r.get("event") == "apply-failed":
            error = f"{r.get('step', '?')}: {r.get('error') or 'failed'}"
        elif r.get("event") in ("apply-done", "skipped", "undo-done"):
            error = None
        if r.get("event") == "run-start":
            nodes = [n for n in r.get("nodes") or [] if isinstance(n, str)]
        if isinstance(r.get("node"), str):
            current = r["node"]
        plan = (r.get("facts") or {}).get("plan") if isinstance(r.get("facts"), dict) else None
        if isinstance(plan, dict) and isinstance(plan.get("node"), str):
            plans[plan["node"]] = plan
    node = current or (nodes[0] if nodes else "?")
    plan = plans.get(node, {})
    if last_state in PAUSED_STATES:
        state = PAUSED_STATES[last_state]
    elif lock_held is False:
        state = "interrupted"
    else:
        state = "in progress"
    firewalls = (plan["firewall"],) if plan.get("vip_move") and isinstance(plan.get("firewall"), str) else ()
    swarm = (plan["swarm_node"],) if isinstance(plan.get("swarm_node"), str) else ()
    osds = tuple(f"osd.{i}" for i in plan.get("osds") or () if isinstance(i, int))
    waiting = last_state in PAUSED_STATES or state == "interrupted"
    if not waiting:
        error = None
    moving = () if waiting else tuple(str(m["vmid"]) for m in plan.get("moves") or ()
                                      if isinstance(m, dict) and m.get("target") and isinstance(m.get("vmid"), int))
    return MaintenanceRun(run_id, (node,), state, firewalls, swarm, osds, inert(cap(error, 160)) if error else None,
                          waiting, moving, failing_back=_failback(records) == (True, None))


def _failback(records: list[dict]) -> tuple[bool, float | None]:
    """The run's closing VIP fail-back: whether it started, and when it ended (journal time)."""
    started, ended = False, None
    for r in records:
        if r.get("event") == "vip-failback-start":
            started, ended = True, None
        elif r.get("event") == "vip-failback" and started:
            t = r.get("t")
            ended = float(t) if isinstance(t, (int, float)) and not isinstance(t, bool) else 0.0
    return started, ended


def _settling(cluster: str, now: float):
    """The latest run, when it ended less than SETTLE_SECONDS ago."""
    from console.maintenance.journal import latest_run

    j = latest_run(cluster)
    if j is None or not j.finished():
        return None
    records = list(j.records())
    end: dict = next((r for r in reversed(records) if r.get("event") == "run-end"), {})
    ended = end.get("t")
    # the journal rounds its times to the millisecond: a run that just ended may look 0.5 ms ahead
    if not isinstance(ended, (int, float)) or not -0.001 <= now - ended < SETTLE_SECONDS:
        return None
    run = run_from_records(j.run_id, records, None, True)
    ago = max(0.0, now - ended)
    _, failback_end = _failback(records)
    # a firewall read in FAULT during the fail-back may be judged a poll later, once the run has ended
    failing_back = failback_end is not None and now - failback_end < FAILBACK_SETTLE
    return replace(run, state=f"ended {end.get('state') or ''} {ago:.0f} s ago, settling".replace("  ", " "),
                   moving=(),  # a guest still stopped after the run is a finding of its own
                   failing_back=failing_back)


def active_runs(cluster: str, now: float | None = None) -> list[MaintenanceRun]:
    """Every unfinished run of the cluster (in progress, paused or interrupted), and the
    latest run while it settles (its last changes take a poll or two to show)."""
    now = time.time() if now is None else now
    try:
        from console.maintenance.journal import unfinished_runs

        journals = unfinished_runs(cluster)
        settling = _settling(cluster, now)
    except (ImportError, ConsoleError, OSError, KeyError) as exc:
        log.warning("maintenance journal not readable for health: %s", exc)
        return []
    held = _lock_held(cluster) if journals else None
    runs = []
    for j in journals:
        try:
            runs.append(run_from_records(j.run_id, list(j.records()), j.last_state(), held))
        except (ConsoleError, OSError) as exc:
            log.warning("maintenance journal %s skipped: %s", getattr(j, "path", "?"), exc)
    return runs + ([settling] if settling is not None else [])
