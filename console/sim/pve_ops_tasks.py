"""PVE API handlers for the cluster-wide task list, the cluster log and replication jobs."""

from __future__ import annotations

from typing import Any

from console.sim import pve_render_ops as O
from console.sim.ops_state import ops_of

CLUSTER_TASKS_MAX = 1000  # pmxcfs keeps a bounded index of recent tasks per node


async def cluster_tasks(ctx, p):
    """Recent tasks of every node, newest first (what the GUI's bottom panel shows)."""
    tasks = sorted(ctx.world.pve_tasks.values(), key=lambda t: (t.starttime, t.pid), reverse=True)
    return [O.task_list_entry(t) for t in tasks[:CLUSTER_TASKS_MAX]]


async def cluster_log(ctx, p):
    """The cluster log: task start/end lines (pvedaemon logs them) and a few others, newest first."""
    world = ctx.world
    rows: list[dict[str, Any]] = []
    for t in world.pve_tasks.values():
        rows.append({"time": int(t.starttime), "pri": 6, "tag": "pvedaemon", "pid": t.pid, "node": t.node,
                     "user": t.user, "msg": f"<{t.user}> starting task {t.upid}"})
        if t.endtime is not None:
            ok = t.exitstatus == "OK"
            rows.append({"time": int(t.endtime), "pri": 6 if ok else 3, "tag": "pvedaemon", "pid": t.pid,
                         "node": t.node, "user": t.user, "msg": f"<{t.user}> end task {t.upid} {t.exitstatus}"})
    for e in ops_of(world).log_seed:
        rows.append({"pid": 1201, **e})
    rows.sort(key=lambda r: (r["time"], r["msg"]), reverse=True)
    rows = rows[:p.get("max", 50)]
    for i, r in enumerate(rows):
        r["uid"] = len(rows) - i
        r["id"] = f"{r['uid']:08X}:{r['time']:08X}"
    return rows


async def cluster_replication(ctx, p):
    return []  # the lab replicates through Ceph, not storage replication jobs
