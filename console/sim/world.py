"""The simulated lab's world: state + clock + consequences.

CONTRACT (the protocol fronts code against these names; keep them):

World(scenario: str = "seed", speed: float = 1.0, seed: int = 1)
  attributes (read-only for fronts):
    nodes: dict[str, SimNode]          guests: dict[int, SimGuest]
    osds: dict[int, SimOsd]            pools: list[SimPool]      ceph: SimCeph
    swarm_nodes: dict[str, SimSwarmNode] (by id)
    services: dict[str, SimService] (by id)     tasks: dict[str, SimTask] (by id)
    routers: list[SimRouter]           firewalls: dict[str, SimFirewall]
    pve_tasks: dict[str, PveTask] (by upid)
    availability: Availability         faults: Faults
    cluster_name: str                  token_id: str   ("root@pam!labconsole")
    version: str (PVE "8.2.4")         traefik_version: str
  time:
    now() -> float                      sim epoch seconds
    tick() -> None                      advance every state machine to now(); fronts call it
                                        before answering, a background loop calls it every 0.1 s
    duration(real_lab_seconds) -> float sim seconds (already scaled) — use for sleeps: real
                                        wait = duration / speed
  derived reads:
    node_online(name) -> bool
    guest_running_on(name) -> list[SimGuest]
    swarm_node_ready(node_id) -> bool   (its VM runs and is not rebooting)
    service_running_tasks(service_id) -> int
    vip_holder() -> list[str]           firewall names currently MASTER with VIP (2 = split brain);
                                        a firewall's instances (SimFirewall.vrrp_instances(), the seed's
                                        sync group VG_1 = WAN, LAN, IOT) share its state: they move as one
    ceph_health() -> tuple[str, list[dict]]   ("HEALTH_WARN", [{"code","severity","summary","detail":[..]}])
    pg_states() -> list[tuple[str, int]]
    osd_ok_to_stop(ids: list[int]) -> tuple[bool, dict]   dict shaped like `ceph osd ok-to-stop -f json`
    mon_ok_to_stop(ids) / mds_ok_to_stop(ids) -> tuple[bool, dict|str]
    backend_up(service_name) -> bool   (Traefik server status for that service's tasks)
  Proxmox writes (each returns a UPID of a PveTask that runs for a while):
    migrate(node, vmid, target, online: bool, restart: bool) -> str   raises SimError(status, msg, errors)
    guest_power(node, vmid, action: "start"|"shutdown"|"stop") -> str
    reboot_node(node) -> str
    shutdown_node(node) -> str          clean power-off; the node stays off until fault node-up
    new_task(node, type_, id_="", status_line=None) -> PveTask   a running task (for fronts that
                                        build their own, e.g. migrateall); finish_task(task, status="OK")
    schedule(delay, fn, *args) -> None  run fn(*args) `delay` lab seconds from now, in tick()
    apt_update(node) -> str
    set_ceph_flag(flag: str, on: bool) -> None
    set_ceph_group_flag(flag, who, on: bool) -> str   `ceph osd set-group|unset-group`; who = host,
                                        "default", osd.N, device class or all; returns Ceph's note
                                        ("" normally); flags in ceph.group_flags; health OSD_FLAGS
  SSH-only writes:
    ha_node_maintenance(node, enable: bool) -> None
    dist_upgrade(node) -> AsyncIterator[str] lines, then raises SimCommandFailed(exit, msg) on failure
       (implemented as: async def dist_upgrade(node, out: Callable[[str], None]) -> int exit code)
    kernel_pin(node, version, next_boot: bool) / kernel_unpin(node)
    downgrade(node, pkgs: dict[str,str]) -> int
    zfs_snapshot(node, name) / zfs_rollback(node, name)
    keepalived(fw, running: bool) ; set_track_file(fw, value: int)
    osd_daemon(osd_id, running: bool)
  Swarm writes (Docker semantics, version checked; raise SimError(409/...)):
    swarm_node_update(node_id, version, spec: dict) -> None
    service_update(service_id, version, spec: dict | None, rollback: bool) -> list[str] warnings
    service_logs(service_id, tail: int | None, timestamps: bool) -> list[tuple[float, str]]
    service_log_records(service_id, tail: int | None) -> list[tuple[float, str, str]]  (t, text, task id)
  Fault hooks for the fronts (family: "pve" | "ceph" | "docker" | "traefik" | "ssh"):
    fault_delay(family) -> float        real seconds to sleep before answering
    fault_error(family) -> bool         True: answer this request with a server error
  Faults:
    inject(kind: str, target: str | None = None, value: float | None = None) -> None
    clear(kind: str | None = None, target: str | None = None) -> None
      kinds: node-down, node-up, osd-down, osd-up, latency (target=family, value=s),
             error-rate (target=family, value=0..1), apt-fail, no-return, bad-kernel,
             traefik-backend-down, traefik-backend-up, split-brain, ha-error, migrate-fail,
             osd-stuck, vip-stuck, ha-pin, mon-down, mon-up (target: a mon or its node),
             backup-fail, local-resource, guest-lock, enterprise-repo (console/sim/ops_faults.py)
  Operations state (snapshots, backup storages/content, backup jobs): world.ops, console/sim/ops_state.py
  summary() -> dict                     JSON-able overview for the control interface
"""

from __future__ import annotations

from console.sim.dynamics_apt import AptDynamics  # noqa: E402
from console.sim.dynamics_ceph import CephDynamics  # noqa: E402
from console.sim.dynamics_ceph_groups import CephGroupFlags  # noqa: E402
from console.sim.dynamics_pve import PveDynamics  # noqa: E402
from console.sim.dynamics_swarm import SwarmDynamics  # noqa: E402
from console.sim.dynamics_vrrp import VrrpDynamics  # noqa: E402
from console.sim.faults import FaultControl  # noqa: E402

# Additions to the contract (implementation notes, additive only):
#   World(..., manual_clock=True) freezes the clock; advance(lab_seconds) moves it
#     and ticks (deterministic tests). now() with the real clock is
#     epoch_start + monotonic elapsed * speed; epoch_start is time.time() when the
#     World is made (World(..., epoch=T) fixes it).
#   duration(x) accepts a lab-seconds float (returned as is) or a name from
#     DURATIONS (the one table of base durations, short so a demo stays lively).
#   verify_failed: set[str]   nodes booted into a bad kernel (fault bad-kernel):
#     they are "online" but their OSD stays down and the running pve-manager
#     version (SimNode.pve_version) stays at the old one while the installed
#     package (packages["pve-manager"]) is the new one: `pveversion -v` and
#     apt/versions show the mismatch.
#   ha_lrm_state(node) -> str ("active" | "maintenance mode" | "wait_for_agent_lock" | "idle")
#   ha_maintenance_origin: dict[int, str]  vmid -> node it left for HA maintenance
#   swarm_node_state(node_id) -> "ready" | "down";  swarm_leader() -> node id | None
#   node_mem_used(name) -> bytes;  node_cpu(name) -> fraction
#   reset_availability(); availability_dict() -> JSON-able record; faults_dict()
#   osd_out_interval (lab s, default 600); real_seconds(x) = duration(x) / speed
#   upid_log(upid) -> list[str]; task lines are also in PveTask.log
#   desired_running: set[int] vmids that should run (availability counts those only)
#   guest_available(g) -> bool; node_free_for_placement(name) -> bytes (maxmem minus placed guests' maxmem)
#   ha_rules: dict[str, SimHaRule] HA rules (console/sim/pve_ha_rules.py), served at /cluster/ha/rules;
#     ha_rules_api False = a PVE 8 cluster (rules 501, node-affinity rules served as HA groups);
#     ha_rules_changed() lets the CRM act on changed rules; fault ha-pin VMID adds a strict rule
#     "pin-VMID" to the guest's node
#   HA: guests moved by HA show ha_state "migrate" (VM) / "relocate" (CT) while moving,
#     "freeze" while their node reboots, "recovery" after a fence; placement follows the HA
#     rules (node affinity, resource affinity), then Proxmox's basic CRS (fewest active HA
#     services, then node name; memory is not checked); a guest its rules leave no node
#     stays where it is (and stops with its node's reboot)
#   Ceph: mon_quorum() -> [names]; mgr_standbys() -> [names]; mds_states() -> {name: "up:active"|"up:standby"}
#     num_pgs(); pg_ids() -> ["1.0", ...]
#   Swarm: service_desired(svc) -> int; swarm_node_update also accepts a hostname or id prefix
#   VRRP: fw_alive(fw) -> bool (keepalived runs on a running VM)
#   Traefik: traefik_entrypoints {"web": ":80", ...}; traefik_middlewares {"name@docker": {...}}
#   dist_upgrade returns the exit code (0, 100 with fault apt-fail); it raises
#     SimCommandFailed(255) only when the node is not reachable or goes down meanwhile.
#   node-up / clearing node-down / no-return powers the node on: it is online after
#     DURATIONS["reboot"] (the same boot time as a reboot), then its guests start.
#   shutdown_node: HA shutdown_policy "conditional" = failover for a shutdown: guests stop
#     with the node; HA guests are recovered elsewhere after DURATIONS["ha_fence"].
#     faults_dict()["nodes_shut_down"] lists nodes shut down this way.
#   ceph.total_objects counts objects; degraded_objects counts missing copies;
#     object_copies() = objects x pool size (the "N/M objects degraded" denominator).
#   osd_ok_to_stop on ids that do not exist: ok, num_ok_pgs 0 (like Ceph 16.2.15).
from console.sim.sim_errors import SimCommandFailed, SimError  # noqa: E402
from console.sim.world_core import DURATIONS, WorldCore  # noqa: E402

__all__ = ["World", "SimError", "SimCommandFailed", "DURATIONS"]


class World(PveDynamics, AptDynamics, CephDynamics, CephGroupFlags, SwarmDynamics, VrrpDynamics, FaultControl,
            WorldCore):
    """The simulated lab; see the module docstring for the contract."""

    def __init__(self, scenario: str = "seed", speed: float = 1.0, seed: int = 1, manual_clock: bool = False,
                 epoch: float | None = None):
        WorldCore.__init__(self, speed=speed, seed=seed, manual_clock=manual_clock, epoch=epoch)
        from console.sim.scenarios import build

        build(self, scenario)
        self.scenario = scenario
        from console.sim.ops_state import seed_ops  # h-operate: snapshots, backups, jobs

        seed_ops(self)
        self._settle()
