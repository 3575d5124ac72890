"""The World's clock, event queue, availability accounting and summary.

Everything that takes time is an event on one heap, processed in time order
by tick(); between two events the state is constant, so availability is
integrated exactly (no sampling error at 0.1 s ticks).
"""

from __future__ import annotations

import heapq
import itertools
import random
import string
import time
from collections.abc import Callable
from typing import Any

from console.sim.pmxcfs_locks import PmxcfsLocks
from console.sim.state import (
    Availability,
    Faults,
    PveTask,
    SimCeph,
    SimFirewall,
    SimGuest,
    SimNode,
    SimOsd,
    SimPool,
    SimRouter,
    SimService,
    SimSwarmNode,
    SimTask,
)

# Base durations in lab seconds. Short on purpose: the demo runs at speed 1 and
# must stay lively; tests raise `speed` to go faster still.
DURATIONS: dict[str, float] = {
    "vm_migrate": 8.0,  # live migration of a VM, no downtime
    "ct_shutdown": 1.5,  # restart migration of a container: shutdown ...
    "ct_move": 1.0,  # ... move (shared Ceph storage: only the config moves) ...
    "ct_start": 1.5,  # ... start  (downtime = sum of the three)
    "guest_start": 3.0,
    "guest_shutdown": 4.0,
    "guest_stop": 1.0,
    "node_shutdown": 3.0,  # from `reboot` to the node going offline
    "reboot": 30.0,  # offline time of a reboot
    "ha_fence": 60.0,  # an unplanned offline node is fenced, HA guests recovered
    "apt_update": 3.0,
    "apt_fetch": 3.0,  # downloading the archives of a dist-upgrade (what its "Fetched ... in 3s" line said)
    "upgrade_line": 0.08,  # pause between two lines of dist-upgrade output (~70 lines)
    "swarm_task_start": 2.0,
    "swarm_task_stop": 1.0,
    "swarm_heartbeat": 5.0,  # manager notices a dead node
    "ceph_recovery": 15.0,  # degraded PGs back to active+clean after the OSD returns
    "ceph_backfill": 60.0,  # out OSD: PGs remapped to other hosts (only if enough hosts)
    "osd_out_interval": 600.0,  # mon_osd_down_out_interval
    "osd_boot": 3.0,  # OSD daemon up after the node is online
    "vrrp_advert": 1.0,
}



class WorldCore:
    """Clock, events, ids and the availability record (mixed into World)."""

    nodes: dict[str, SimNode]
    guests: dict[int, SimGuest]

    def __init__(self, speed: float = 1.0, seed: int = 1, manual_clock: bool = False, epoch: float | None = None):
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = float(speed)
        self._rng = random.Random(seed)
        self._manual = manual_clock
        self._mono0 = time.monotonic()
        # the sim clock starts at the real time: clients that print ages ("Up 3 minutes",
        # "Running 2 years ago") compare sim timestamps with their own clock
        self._epoch0 = time.time() if epoch is None else float(epoch)
        self._manual_elapsed = 0.0
        self._t = self._epoch0  # time the state machines have reached
        self._acc_t = self._epoch0  # time availability was counted up to
        self._events: list[tuple[float, int, Callable[..., Any], tuple]] = []
        self._seq = itertools.count()
        self._pid = itertools.count(40123)
        self.cluster_name = "demo"
        self.pmxcfs = PmxcfsLocks()  # /etc/pve/priv/lock, shared by every node's SSH server
        self.token_id = "root@pam!labconsole"
        self.version = "8.2.4"
        self.traefik_version = "3.1.2"
        self.nodes = {}
        self.guests = {}
        self.osds: dict[int, SimOsd] = {}
        self.pools: list[SimPool] = []
        self.ceph = SimCeph()
        self.swarm_nodes: dict[str, SimSwarmNode] = {}
        self.services: dict[str, SimService] = {}
        self.tasks: dict[str, SimTask] = {}
        self.routers: list[SimRouter] = []
        self.traefik_entrypoints: dict[str, str] = {}  # name -> address, e.g. "websecure": ":443"
        self.traefik_middlewares: dict[str, dict] = {}  # "name@provider" -> {"type": ..., <config>}
        self.firewalls: dict[str, SimFirewall] = {}
        self.pve_tasks: dict[str, PveTask] = {}
        self.availability = Availability()
        self.faults = Faults()
        self.desired_running: set[int] = set()  # vmids that should run
        self.verify_failed: set[str] = set()
        self.ha_maintenance_origin: dict[int, str] = {}
        self.osd_out_interval = DURATIONS["osd_out_interval"]
        self._vip_gap_start: float | None = None
        self.ha_rules: dict = {}  # HA rule id -> pve_ha_rules.SimHaRule (node/resource affinity)
        self.ha_rules_api = True  # False: a PVE 8 cluster, /cluster/ha/rules answers 501
        self._migration_tokens: dict[int, object] = {}
        self._node_gen: dict[str, int] = {}
        self._stuck_offline: set[str] = set()
        self._good_kernels: dict[str, set[str]] = {}  # kernels that boot fine despite bad-kernel
        self._zfs: dict[str, dict[str, dict]] = {}
        self._upgrading: set[str] = set()
        self._manager_before_upgrade: dict[str, str] = {}
        self._known_versions: dict[str, set[str]] = {}  # package -> versions apt can install
        self._osd_stopped: set[int] = set()
        self._osd_booting: set[int] = set()
        self._out_at: dict[int, float] = {}
        self._recovery: list[tuple[float, float, int]] = []
        self._guest_by_name: dict[str, object] = {}
        self._swarm_vm_down_at: dict[str, float] = {}
        self._swarm_noticed_down: set[str] = set()
        self._restart_wait: set[tuple] = set()
        self._template_version: dict[str, int] = {}
        self._templates: dict[str, dict[int, dict]] = {}
        self._good_images: dict[str, set[str]] = {}
        self._update_gen: dict[str, int] = {}
        # what the `hostile` scenario injects (empty otherwise): service log lines, Ceph health
        # checks and postinst output printed during apt-get dist-upgrade
        self.log_noise: tuple[str, ...] = ()
        self.extra_health_checks: list[dict] = []
        self.apt_noise: tuple[str, ...] = ()
        self._vrrp_graceful = False
        self._vrrp_master_lost_at: float | None = None
        self._vrrp_takeover_pending = False
        self._vrrp_last_master: str | None = None  # who held the VIP last (fault vip-stuck lets only it retake)
        self._forced_down: set[str] = set()  # fault node-down: off until node-up
        self._powered_off: set[str] = set()  # shut down cleanly: off until node-up
        self._booting: set[str] = set()  # powered on, online after the boot time

    # ------------------------------------------------------------------ time
    def now(self) -> float:
        if self._manual:
            return self._epoch0 + self._manual_elapsed
        return self._epoch0 + (time.monotonic() - self._mono0) * self.speed

    def duration(self, real_lab_seconds: float | str) -> float:
        """Lab seconds an operation takes (the one place durations are tuned)."""
        if isinstance(real_lab_seconds, str):
            return DURATIONS[real_lab_seconds]
        return float(real_lab_seconds)

    def real_seconds(self, lab_seconds: float | str) -> float:
        """Wall-clock seconds for `lab_seconds` at this speed (for asyncio.sleep)."""
        return self.duration(lab_seconds) / self.speed

    def advance(self, lab_seconds: float) -> None:
        """Manual clock only: move time forward and tick (for tests)."""
        if not self._manual:
            raise RuntimeError("advance() needs World(manual_clock=True)")
        self._manual_elapsed += lab_seconds
        self.tick()

    def schedule(self, delay: float, fn: Callable[..., Any], *args: Any) -> None:
        """Run fn(*args) `delay` lab seconds after the current event time (public: fronts use it)."""
        heapq.heappush(self._events, (self._t + max(0.0, delay), next(self._seq), fn, args))

    at = schedule  # the name the dynamics mixins use

    def tick(self) -> None:
        target = self.now()
        if target < self._t:
            return
        while self._events and self._events[0][0] <= target:
            t, _, fn, args = heapq.heappop(self._events)
            t = max(t, self._t)
            self._account(t)
            self._t = t
            fn(*args)
            self._reconcile()
        self._account(target)
        self._t = target

    def _reconcile(self) -> None:
        """Let the continuous rules react to a change (mixins provide the parts)."""
        self._ceph_reconcile()
        self._swarm_reconcile()
        self._vrrp_reconcile()

    def _settle(self) -> None:
        """After a scenario was built: state is converged; start counting from here."""
        self._reconcile()
        self._acc_t = self._t

    # ------------------------------------------------------------ accounting
    def _account(self, to: float) -> None:
        dt = to - self._acc_t
        if dt <= 0:
            return
        av = self.availability
        for vmid in self.desired_running:
            g = self.guests.get(vmid)
            if g is not None and not self.guest_available(g):
                av.guests[vmid] = av.guests.get(vmid, 0.0) + dt
        running = self._running_task_counts()
        for sid, svc in self.services.items():
            desired = self.service_desired(svc)
            have = running.get(sid, 0)
            if desired > 0 and have == 0:
                av.services[svc.name] = av.services.get(svc.name, 0.0) + dt
            if have < desired:
                av.service_degraded[svc.name] = av.service_degraded.get(svc.name, 0.0) + dt
        if self.firewalls:
            if not self.vip_holder():
                av.vip_absent += dt
                if self._vip_gap_start is None:
                    self._vip_gap_start = self._acc_t
                av.vip_longest_gap = max(av.vip_longest_gap, to - self._vip_gap_start)
            else:
                self._vip_gap_start = None
        self._acc_t = to

    def reset_availability(self) -> None:
        self.tick()
        self.availability = Availability()
        self._vip_gap_start = None

    def availability_dict(self) -> dict:
        self.tick()
        av = self.availability
        return {
            "guests": {str(k): round(v, 3) for k, v in sorted(av.guests.items())},
            "services": {k: round(v, 3) for k, v in sorted(av.services.items())},
            "service_degraded": {k: round(v, 3) for k, v in sorted(av.service_degraded.items())},
            "vip_absent": round(av.vip_absent, 3),
            "vip_longest_gap": round(av.vip_longest_gap, 3),
            "guest_seconds_total": round(sum(av.guests.values()), 3),
            "service_seconds_total": round(sum(av.services.values()), 3),
        }

    # ------------------------------------------------------------------- ids
    def _docker_id(self, n: int = 25) -> str:
        return "".join(self._rng.choice(string.ascii_lowercase + string.digits) for _ in range(n))

    def _hex_id(self, n: int = 64) -> str:
        return "".join(self._rng.choice("0123456789abcdef") for _ in range(n))

    def new_task(self, node: str, type_: str, id_: str = "", status_line: str | None = None) -> PveTask:
        """A running PVE task (UPID) started now on `node`; end it with finish_task()."""
        pid = next(self._pid)
        start = self._t
        pstart = int((start - self._epoch0) * 100) + 1_000_000
        upid = f"UPID:{node}:{pid:08X}:{pstart:08X}:{int(start):08X}:{type_}:{id_}:{self.token_id}:"
        task = PveTask(upid=upid, node=node, type=type_, id=id_, user=self.token_id, starttime=start, pid=pid,
                       pstart=pstart)
        if status_line:
            task.log.append(status_line)
        self.pve_tasks[upid] = task
        return task

    def finish_task(self, task: PveTask, status: str = "OK") -> None:
        """End a task: "OK" or an error message (logged as "TASK ERROR: ..."). Idempotent."""
        if task.endtime is not None:
            return
        if status == "OK":
            task.log.append("TASK OK")
        else:
            task.log.append(f"TASK ERROR: {status}")
        task.endtime = self._t
        task.exitstatus = status

    _new_task = new_task  # old private names, kept for callers outside the sim
    _finish_task = finish_task

    def upid_log(self, upid: str) -> list[str]:
        task = self.pve_tasks.get(upid)
        return list(task.log) if task else []

    # --------------------------------------------------------------- summary
    def summary(self) -> dict:
        self.tick()
        health, checks = self.ceph_health()
        running = self._running_task_counts()
        return {
            "scenario": getattr(self, "scenario", None),
            "now": round(self.now(), 3),
            "speed": self.speed,
            "nodes": {
                n.name: {
                    "status": n.status,
                    "kernel": n.kernel,
                    "pve_version": n.pve_version,
                    "ha_maintenance": n.ha_maintenance,
                    "upgradable": len(n.upgradable),
                    "guests_running": len(self.guest_running_on(n.name)),
                    "verify_failed": n.name in self.verify_failed,
                }
                for n in self.nodes.values()
            },
            "guests": {
                "total": len(self.guests),
                "running": sum(1 for g in self.guests.values() if g.status == "running"),
                "migrating": sorted(g.vmid for g in self.guests.values() if g.lock == "migrate"),
            },
            "ceph": {
                "health": health,
                "checks": [c["code"] for c in checks],
                "flags": sorted(f for f in self.ceph.flags if f in ("noout", "norebalance", "noup", "nodown", "noin")),
                "group_flags": {k: sorted(v) for k, v in sorted(self.ceph.group_flags.items()) if v},
                "fsid": self.ceph.fsid,
                "osds_up": sum(1 for o in self.osds.values() if o.up),
                "osds_in": sum(1 for o in self.osds.values() if o.in_),
                "osds": len(self.osds),
                "pg_states": dict(self.pg_states()),
            },
            "swarm": {
                "nodes": {sn.hostname: {"state": self.swarm_node_state(sid), "availability": sn.availability}
                          for sid, sn in self.swarm_nodes.items()}
                if len(self.swarm_nodes) <= 50
                else {"count": len(self.swarm_nodes)},
                "services_converged": sum(1 for sid, s in self.services.items()
                                          if running.get(sid, 0) >= self.service_desired(s)),
                "services": len(self.services),
                "tasks_running": sum(running.values()),
            },
            "vrrp": {
                "vip_holder": self.vip_holder(),
                "firewalls": {f.name: {"state": f.state, "keepalived": f.keepalived_running,
                                       "effective_priority": f.effective_priority} for f in self.firewalls.values()},
            },
            "faults": self.faults_dict(),
            "availability": self.availability_dict(),
        }
