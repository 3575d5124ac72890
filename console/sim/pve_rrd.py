"""RRD statistics of the simulated lab: GET /nodes/{node}/rrddata and /nodes/{node}/qemu|lxc/{vmid}/rrddata.

Shaped like PVE::API2Tools / PVE::RRD::create_rrd_data (PVE 8): 70 rows for
the timeframe, `time` the start of each step (hour: 60 s, day: 30 min, week:
3 h, month: 12 h, year: 1 week), ending before the current step; a row where
rrdcached had no value carries only `time` (the node was down then).
Data sources are those of pve2-node and pve2-vm: node cpu, maxcpu, iowait,
loadavg, memtotal, memused, swaptotal, swapused, roottotal, rootused, netin,
netout; guest cpu, maxcpu, mem, maxmem, disk, maxdisk, netin, netout,
diskread, diskwrite (net and disk in bytes/s).

The world keeps no history, so past values are derived from today's levels
(node_cpu, node_mem_used, a guest's cpu and memory) with a slow wave and a
deterministic jitter per step: the same step always reads the same, and the
series moves as the window slides with the sim clock.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

from console.sim.pve_render import ROOTFS_TOTAL
from console.sim.pve_routes import NODE, VMID, P, PveError, Route

STEPS = {"hour": 60, "day": 60 * 30, "week": 60 * 180, "month": 60 * 720, "year": 60 * 10080,
         "decade": 60 * 10080 * 4}  # decade: PVE 8.4's new schema; one row per 4 weeks here
ROWS = 70
GiB = 1024**3

_TIMEFRAMES = ("hour", "day", "week", "month", "year")
_CF = P("string", optional=True, enum=("AVERAGE", "MAX"))


def _jitter(key: str, step: int) -> float:
    """A repeatable value in [-1, 1] for (series, step)."""
    return (zlib.crc32(f"{key}:{step}".encode()) & 0xFFFF) / 32767.5 - 1.0


def wave(key: str, ts: int, reso: int) -> float:
    """A factor around 1.0 (0.5 .. 1.5) that changes slowly and a little from step to step."""
    phase = (zlib.crc32(key.encode()) & 0xFF) / 40.0
    slow = math.sin(ts / (reso * 11.0) + phase)
    return max(0.0, 1.0 + 0.3 * slow + 0.2 * _jitter(key, ts // reso))


def _window(world, timeframe: str) -> tuple[int, list[int]]:
    reso = STEPS[timeframe]
    ctime = reso * int(world.now() / reso)
    return reso, [ctime - reso * (ROWS - i) for i in range(ROWS)]


def _max_factor(cf: str | None) -> float:
    return 1.25 if cf == "MAX" else 1.0


def node_rows(world, name: str, timeframe: str, cf: str | None = None) -> list[dict[str, Any]]:
    n = world.nodes[name]
    reso, times = _window(world, timeframe)
    cpu_now = world.node_cpu(name)
    mem_now = world.node_mem_used(name)
    net_now = sum((g.vmid % 7 + 1) * 5200 for g in world.guest_running_on(name)) + 2000
    k = _max_factor(cf)
    rows: list[dict[str, Any]] = []
    for ts in times:
        if ts + reso > n.boot_time - 60 and ts < n.boot_time:  # down (rebooting) then: no values
            rows.append({"time": ts})
            continue
        cpu = min(1.0, cpu_now * wave(f"{name}/cpu", ts, reso) * k)
        mem = min(n.maxmem, int(mem_now * (0.9 + 0.1 * wave(f"{name}/mem", ts, reso))))
        rows.append({
            "time": ts, "cpu": round(cpu, 6), "maxcpu": n.maxcpu, "iowait": round(cpu * 0.02, 6),
            "loadavg": round(cpu * n.maxcpu, 2), "memtotal": n.maxmem, "memused": mem,
            "swaptotal": 8 * GiB, "swapused": 0, "roottotal": ROOTFS_TOTAL, "rootused": int(ROOTFS_TOTAL * 0.12),
            "netin": round(net_now * wave(f"{name}/netin", ts, reso) * k, 2),
            "netout": round(net_now * 0.6 * wave(f"{name}/netout", ts, reso) * k, 2),
        })
    return rows


def guest_rows(world, g, timeframe: str, cf: str | None = None) -> list[dict[str, Any]]:
    reso, times = _window(world, timeframe)
    running = g.status == "running" and world.node_online(g.node)
    k = _max_factor(cf)
    rate = (g.vmid % 7 + 1)
    key = f"{g.type}/{g.vmid}"
    rows: list[dict[str, Any]] = []
    for ts in times:
        up = running and ts >= g.started_at
        row: dict[str, Any] = {"time": ts, "maxcpu": g.cpus, "maxmem": g.maxmem, "maxdisk": g.maxdisk,
                               "disk": int(g.maxdisk * 0.3) if g.type == "lxc" else 0}
        if up:
            row.update({
                "cpu": round(min(1.0, g.cpu * wave(key + "/cpu", ts, reso) * k), 6),
                "mem": int(g.maxmem * g.mem_fraction * (0.9 + 0.1 * wave(key + "/mem", ts, reso))),
                "netin": round(rate * 5200 * wave(key + "/netin", ts, reso) * k, 2),
                "netout": round(rate * 3100 * wave(key + "/netout", ts, reso) * k, 2),
                "diskread": round(rate * 900 * wave(key + "/dr", ts, reso) * k, 2),
                "diskwrite": round(rate * 1400 * wave(key + "/dw", ts, reso) * k, 2),
            })
        else:  # pvestatd records a stopped guest as idle
            row.update({"cpu": 0, "mem": 0, "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0})
        rows.append(row)
    return rows


async def node_rrddata(ctx, p):
    return node_rows(ctx.world, p["node"], p["timeframe"], p.get("cf"))


def _guest_rrddata(kind: str):
    async def handler(ctx, p):
        g = ctx.world.guests.get(p["vmid"])
        if g is None or g.node != p["node"] or g.type != kind:
            conf = "qemu-server" if kind == "qemu" else "lxc"
            raise PveError(500, f"Configuration file 'nodes/{p['node']}/{conf}/{p['vmid']}.conf' does not exist")
        return guest_rows(ctx.world, g, p["timeframe"], p.get("cf"))
    return handler


RRD_ROUTES: list[Route] = [
    Route("GET", "/nodes/{node}/rrddata", node_rrddata,
          {"node": NODE, "timeframe": P("string", enum=(*_TIMEFRAMES, "decade")), "cf": _CF},
          perm=("/nodes/{node}", "Sys.Audit")),
    *[Route("GET", f"/nodes/{{node}}/{kind}/{{vmid}}/rrddata", _guest_rrddata(kind),
            {"node": NODE, "vmid": VMID, "timeframe": P("string", enum=_TIMEFRAMES), "cf": _CF},
            perm=("/vms/{vmid}", "VM.Audit"))
      for kind in ("qemu", "lxc")],
]
