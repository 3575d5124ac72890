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
    vip_holder() -> list[str]           firewall names currently MASTER with VIP (2 = split brain)
    ceph_health() -> tuple[str, list[dict]]   ("HEALTH_WARN", [{"code","severity","summary","detail":[..]}])
    pg_states() -> list[tuple[str, int]]
    osd_ok_to_stop(ids: list[int]) -> tuple[bool, dict]   dict shaped like `ceph osd ok-to-stop -f json`
    mon_ok_to_stop(ids) / mds_ok_to_stop(ids) -> tuple[bool, dict|str]
    backend_up(service_name) -> bool   (Traefik server status for that service's tasks)
  Proxmox writes (each returns a UPID of a PveTask that runs for a while):
    migrate(node, vmid, target, online: bool, restart: bool) -> str   raises SimError(status, msg, errors)
    guest_power(node, vmid, action: "start"|"shutdown"|"stop") -> str
    reboot_node(node) -> str
    apt_update(node) -> str
    set_ceph_flag(flag: str, on: bool) -> None
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
  Fault hooks for the fronts (family: "pve" | "ceph" | "docker" | "traefik" | "ssh"):
    fault_delay(family) -> float        real seconds to sleep before answering
    fault_error(family) -> bool         True: answer this request with a server error
  Faults:
    inject(kind: str, target: str | None = None, value: float | None = None) -> None
    clear(kind: str | None = None, target: str | None = None) -> None
      kinds: node-down, node-up, osd-down, osd-up, latency (target=family, value=s),
             error-rate (target=family, value=0..1), apt-fail, no-return, bad-kernel,
             traefik-backend-down, traefik-backend-up, split-brain, ha-error, migrate-fail,
             osd-stuck, vip-stuck
  summary() -> dict                     JSON-able overview for the control interface
"""

from __future__ import annotations


class SimError(Exception):
    """An error a front turns into the protocol's error shape."""

    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or {}


class SimCommandFailed(Exception):
    def __init__(self, exit_status: int, message: str):
        super().__init__(message)
        self.exit_status = exit_status
        self.message = message
