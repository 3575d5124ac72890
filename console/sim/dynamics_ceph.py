"""Ceph dynamics: OSD up/in, PG states, recovery, mons/mgrs/MDS, health checks, ok-to-stop."""

from __future__ import annotations

import functools
import itertools
import math

from console.sim.sim_errors import SimCommandFailed, SimError
from console.sim.state import SimOsd

SETTABLE_FLAGS = ("noout", "noin", "noup", "nodown", "norebalance", "norecover", "nobackfill", "noscrub",
                  "nodeep-scrub", "pause")
OBJECT_SIZE = 4 * 1024**2


def _share_at_least(host_p: tuple[float, ...], size: int, k_min: int) -> float:
    """Share of PGs with >= k_min of their `size` replicas down.

    CRUSH puts the replicas of a PG on `size` distinct hosts; on host h a replica
    is down with probability host_p[h] (its down OSDs / its OSDs). Exact over
    all host combinations (16 hosts, size 3: 560 of them).
    """
    hosts = len(host_p)
    if k_min <= 0:
        return 1.0
    s = min(size, hosts)
    if s == 0 or not any(host_p):
        return 0.0
    total = 0.0
    combos = 0
    for combo in itertools.combinations(host_p, s):
        dist = [1.0]  # dist[k] = P(k replicas down) within this combination
        for p in combo:
            nxt = [0.0] * (len(dist) + 1)
            for k, v in enumerate(dist):
                nxt[k] += v * (1 - p)
                nxt[k + 1] += v * p
            dist = nxt
        total += sum(dist[k_min:])
        combos += 1
    return total / combos


_share_cached = functools.lru_cache(maxsize=4096)(_share_at_least)


class CephDynamics:
    """Mixed into World."""

    # ------------------------------------------------------------ daemons
    def _osd_should_be_up(self, o: SimOsd) -> bool:
        return (
            self.node_online(o.host)
            and o.host not in self.verify_failed
            and o.id not in self._osd_stopped
            and o.id not in self.faults.osd_stuck
        )

    def _ceph_reconcile(self) -> None:
        t = self._t
        for o in self.osds.values():
            if o.up and not self._osd_should_be_up(o):
                o.up = False
                o.down_since = t
                self._osd_booting.discard(o.id)
                self.at(self.osd_out_interval, self._ceph_touch)
            elif not o.up and self._osd_should_be_up(o) and o.id not in self._osd_booting:
                self._osd_booting.add(o.id)
                self.at(self.duration("osd_boot"), self._osd_boot, o.id)
            if not o.up and o.in_ and not self.osd_noout(o) and o.down_since is not None:
                if t - o.down_since >= self.osd_out_interval:
                    o.in_ = False
                    self._out_at[o.id] = t
                    self.at(self.duration("ceph_backfill"), self._ceph_touch)
        # mgr / mds failover
        up_hosts = {n for n in self.nodes if self.node_online(n)}
        if self.ceph.mgr_active not in up_hosts or self.ceph.mgr_active not in self.ceph.mgrs:
            self.ceph.mgr_active = next((m for m in self.ceph.mgrs if m in up_hosts), None)
        if self.ceph.mds_active is None or self.ceph.mds.get(self.ceph.mds_active) not in up_hosts:
            self.ceph.mds_active = next((m for m, h in self.ceph.mds.items() if h in up_hosts), None)
        self._refresh_pg_counters()

    def _ceph_touch(self) -> None:
        """An event whose only purpose is to make reconcile run at this time."""

    def _osd_boot(self, osd_id: int) -> None:
        self._osd_booting.discard(osd_id)
        o = self.osds[osd_id]
        if o.up or not self._osd_should_be_up(o):
            return
        before = self._degraded_count()
        o.up = True
        if not o.in_ and not self.osd_noin(o):
            o.in_ = True  # an auto-out OSD is marked in again when it boots (unless noin)
        o.down_since = None
        self._out_at.pop(osd_id, None)
        healed = before - self._degraded_count()
        if healed > 0:
            end = self._t + self.duration("ceph_recovery")
            self._recovery.append((self._t, end, healed))
            self.at(self.duration("ceph_recovery"), self._ceph_touch)

    def osd_daemon(self, osd_id: int, running: bool) -> None:
        self.tick()
        if osd_id not in self.osds:
            raise SimCommandFailed(2, f"Error ENOENT: osd.{osd_id} does not exist")
        if running:
            self._osd_stopped.discard(osd_id)
        else:
            self._osd_stopped.add(osd_id)
        self._reconcile()

    def set_ceph_flag(self, flag: str, on: bool) -> None:
        self.tick()
        if flag not in SETTABLE_FLAGS:
            raise SimError(400, "Parameter verification failed.",
                           {"flag": f"value '{flag}' does not have a value in the enumeration "
                                    f"'{', '.join(SETTABLE_FLAGS)}'"})
        if on:
            self.ceph.flags.add(flag)
        else:
            self.ceph.flags.discard(flag)
        self._reconcile()

    # --------------------------------------------------------------- PGs
    def _down_for_pgs(self) -> list[SimOsd]:
        """OSDs whose PG copies are missing (down, or out but not yet backfilled elsewhere)."""
        hosts_in = {o.host for o in self.osds.values() if o.up and o.in_}
        out = []
        for o in self.osds.values():
            if o.up:
                continue
            out_at = self._out_at.get(o.id)
            remapped = (
                out_at is not None
                and self._t - out_at >= self.duration("ceph_backfill")
                and all(len(hosts_in) >= p.size for p in self.pools)
            )
            if not remapped:
                out.append(o)
        return out

    def _degraded_count(self) -> int:
        return sum(c for state, c in self._pg_split() if state != "active+clean" and "recovering" not in state)

    def _host_p(self, down_ids: set[int]) -> tuple[float, ...]:
        per_host: dict[str, list[int]] = {}
        for o in self.osds.values():
            per_host.setdefault(o.host, [0, 0])
            per_host[o.host][1] += 1
            if o.id in down_ids:
                per_host[o.host][0] += 1
        return tuple(sorted(d / t for d, t in per_host.values()))

    def _pg_split(self) -> list[tuple[str, int]]:
        host_p = self._host_p({o.id for o in self._down_for_pgs()})
        degraded = inactive = 0
        for p in self.pools:
            deg_f = _share_cached(host_p, p.size, 1)
            inact_f = _share_cached(host_p, p.size, p.size - p.min_size + 1)
            pool_deg = round(p.pg_num * deg_f)
            pool_inact = min(pool_deg, round(p.pg_num * inact_f))
            degraded += pool_deg - pool_inact
            inactive += pool_inact
        total = self.num_pgs()
        recovering = 0
        self._recovery = [r for r in self._recovery if r[1] > self._t]
        for start, end, count in self._recovery:
            recovering += math.ceil(count * (end - self._t) / max(end - start, 1e-9))
        recovering = max(0, min(recovering, total - degraded - inactive))
        clean = total - degraded - inactive - recovering
        out = []
        if clean:
            out.append(("active+clean", clean))
        if degraded:
            out.append(("active+undersized+degraded", degraded))
        if inactive:
            out.append(("undersized+degraded+peered", inactive))
        if recovering:
            out.append(("active+recovering+degraded", recovering))
        return out

    def num_pgs(self) -> int:
        return sum(p.pg_num for p in self.pools)

    def pg_states(self) -> list[tuple[str, int]]:
        self._refresh_pg_counters()
        return self._pg_split()

    def _refresh_pg_counters(self) -> None:
        split = dict(self._pg_split())
        c = self.ceph
        c.degraded_pgs = split.get("active+undersized+degraded", 0) + split.get("undersized+degraded+peered", 0)
        c.recovering_pgs = split.get("active+recovering+degraded", 0)
        objects = sum(p.stored for p in self.pools) // OBJECT_SIZE
        c.total_objects = objects
        # Ceph counts missing object copies: one per undersized PG's object, and
        # size - min_size + 1 (at least) per object of a PG that lost too many to stay active
        per_pg = objects / max(self.num_pgs(), 1)
        lost_deep = max((p.size - p.min_size + 1 for p in self.pools), default=2)
        inactive = split.get("undersized+degraded+peered", 0)
        copies = (c.degraded_pgs - inactive) + inactive * lost_deep + c.recovering_pgs
        c.degraded_objects = min(int(per_pg * copies), self.object_copies())

    def object_copies(self) -> int:
        """Objects times replicas: the denominator of Ceph's "N/M objects degraded"."""
        return int(self.ceph.total_objects) * max((p.size for p in self.pools), default=3)

    # ------------------------------------------------------------ daemons
    def mon_quorum(self) -> list[str]:
        stopped = self.faults.mon_stopped  # fault mon-down
        up = sorted(m for m, h in self.ceph.mons.items() if self.node_online(h) and m not in stopped)
        return up if len(up) * 2 > len(self.ceph.mons) else []

    def mgr_standbys(self) -> list[str]:
        return [m for m in self.ceph.mgrs if m != self.ceph.mgr_active and self.node_online(m)]

    def mds_states(self) -> dict[str, str]:
        out = {}
        for name, host in self.ceph.mds.items():
            if not self.node_online(host):
                continue
            out[name] = "up:active" if name == self.ceph.mds_active else "up:standby"
        return out

    # ------------------------------------------------------------ health
    def ceph_health(self) -> tuple[str, list[dict]]:
        checks: list[dict] = []
        warn = "HEALTH_WARN"
        flags = sorted(f for f in self.ceph.flags if f in SETTABLE_FLAGS)
        if flags:
            checks.append({"code": "OSDMAP_FLAGS", "severity": warn, "summary": f"{','.join(flags)} flag(s) set",
                           "detail": []})
        group = self.osd_flags_check()
        if group:
            checks.append(group)
        mons = self.ceph.mons
        quorum = self.mon_quorum()
        down_mons = sorted(m for m in mons if m not in quorum)
        if down_mons:
            detail = [f"mon.{m} (rank {sorted(mons).index(m)}) addr "
                      f"[v2:{self.nodes[mons[m]].ip}:3300/0,v1:{self.nodes[mons[m]].ip}:6789/0] is down (out of quorum)"
                      for m in down_mons]
            checks.append({"code": "MON_DOWN", "severity": warn,
                           "summary": f"{len(down_mons)}/{len(mons)} mons down, quorum {','.join(quorum)}",
                           "detail": detail})
        if self.ceph.mgr_active is None and self.ceph.mgrs:
            checks.append({"code": "MGR_DOWN", "severity": warn, "summary": "no active mgr", "detail": []})
        states = self.mds_states()
        if self.ceph.mds:
            if not any(s == "up:active" for s in states.values()):
                checks.append({"code": "MDS_ALL_DOWN", "severity": "HEALTH_ERR", "summary": "1 filesystem is offline",
                               "detail": [f"fs {self.ceph.fs_name} is offline because no MDS is active for it."]})
                checks.append({"code": "FS_DEGRADED", "severity": warn, "summary": "1 filesystem is degraded",
                               "detail": [f"fs {self.ceph.fs_name} is degraded"]})
            elif not any(s == "up:standby" for s in states.values()):
                checks.append({"code": "MDS_INSUFFICIENT_STANDBY", "severity": warn,
                               "summary": "insufficient standby MDS daemons available",
                               "detail": ["have 0; want 1 more"]})
        down = sorted(o.id for o in self.osds.values() if not o.up)
        if down:
            detail = [f"osd.{i} (root=default,host={self.osds[i].host}) is down" for i in down]
            checks.append({"code": "OSD_DOWN", "severity": warn, "summary": f"{len(down)} osds down", "detail": detail})
            by_host: dict[str, list[SimOsd]] = {}
            for o in self.osds.values():
                by_host.setdefault(o.host, []).append(o)
            hosts_down = sorted(h for h, os_ in by_host.items() if all(not o.up for o in os_))
            if hosts_down:
                n = sum(len(by_host[h]) for h in hosts_down)
                checks.append(
                    {
                        "code": "OSD_HOST_DOWN",
                        "severity": warn,
                        "summary": f"{len(hosts_down)} host{'s' if len(hosts_down) > 1 else ''} ({n} osds) down",
                        "detail": [f"host {h} (root=default) ({len(by_host[h])} osds) is down" for h in hosts_down],
                    }
                )
        checks.extend(self.extra_health_checks)
        split = dict(self.pg_states())
        c = self.ceph
        inactive = split.get("undersized+degraded+peered", 0)
        if inactive:
            checks.append({"code": "PG_AVAILABILITY", "severity": warn,
                           "summary": f"Reduced data availability: {inactive} pgs inactive", "detail": []})
        if c.degraded_pgs or c.recovering_pgs:
            copies = self.object_copies()
            pct = 100.0 * c.degraded_objects / max(copies, 1)
            undersized = c.degraded_pgs
            summary = (f"Degraded data redundancy: {c.degraded_objects}/{copies} objects degraded ({pct:.3f}%), "
                       f"{c.degraded_pgs + c.recovering_pgs} pgs degraded")
            if undersized:
                summary += f", {undersized} pgs undersized"
            checks.append({"code": "PG_DEGRADED", "severity": warn, "summary": summary,
                           "detail": self._pg_detail(split)})
        if any(ch["severity"] == "HEALTH_ERR" for ch in checks):
            return "HEALTH_ERR", checks
        return ("HEALTH_WARN" if checks else "HEALTH_OK"), checks

    def _pg_detail(self, split: dict[str, int]) -> list[str]:
        up = [o.id for o in self.osds.values() if o.up][:3]
        lines = []
        for state, count in split.items():
            if state == "active+clean":
                continue
            for pgid in self.pg_ids()[: min(count, 3)]:
                lines.append(f"pg {pgid} is {state}, acting {up}")
        return lines

    def pg_ids(self) -> list[str]:
        return [f"{p.id}.{i:x}" for p in self.pools for i in range(p.pg_num)]

    # -------------------------------------------------------- ok-to-stop
    def osd_ok_to_stop(self, ids: list[int]) -> tuple[bool, dict]:
        self.tick()
        # like Ceph 16.2.15: ids that do not exist touch no PGs (ok_to_stop true, num_ok_pgs 0)
        known = {i for i in ids if i in self.osds}
        if not known:
            return True, {"ok_to_stop": True, "osds": sorted(set(ids)), "num_ok_pgs": 0, "num_not_ok_pgs": 0,
                          "bad_become_inactive": [], "ok_become_degraded": []}
        after = self._host_p(known | {o.id for o in self._down_for_pgs()})
        only = self._host_p(known)
        bad = ok_deg = 0
        for p in self.pools:
            inact = round(p.pg_num * _share_cached(after, p.size, p.size - p.min_size + 1))
            touched = round(p.pg_num * _share_cached(only, p.size, 1))
            bad += inact
            ok_deg += max(0, touched - inact)
        pgids = self.pg_ids()
        ok = bad == 0
        return ok, {
            "ok_to_stop": ok,
            "osds": sorted(set(ids)),
            "num_ok_pgs": ok_deg,  # PGs on these OSDs that stay active (degraded)
            "num_not_ok_pgs": bad,
            "bad_become_inactive": pgids[:bad],
            "ok_become_degraded": pgids[bad : bad + ok_deg],
        }

    def mon_ok_to_stop(self, ids) -> tuple[bool, str]:
        self.tick()
        ids = [str(i) for i in ids]
        for m in ids:
            if m not in self.ceph.mons:
                raise SimCommandFailed(2, f"Error ENOENT: mon.{m} does not exist")
        remaining = [m for m in self.mon_quorum() if m not in ids]
        if len(remaining) * 2 > len(self.ceph.mons):
            return True, f"quorum should be preserved ({','.join(remaining)}) after stopping [{','.join(ids)}]"
        return False, (f"not enough monitors would be available ({','.join(remaining)}) "
                       f"after stopping mons [{','.join(ids)}]")

    def mds_ok_to_stop(self, ids) -> tuple[bool, str]:
        self.tick()
        ids = [str(i) for i in ids]
        states = self.mds_states()
        standbys = [m for m, s in states.items() if s == "up:standby" and m not in ids]
        active_stopping = [m for m in ids if states.get(m) == "up:active"]
        if active_stopping and not standbys:
            return False, ("one or more filesystems is currently degraded or would be after stopping: "
                           f"{','.join(active_stopping)} is active without a standby")
        return True, f"{','.join(ids)} can be stopped (standby available: {','.join(standbys) or 'none needed'})"
