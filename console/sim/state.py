"""The simulated lab's state: plain mutable dataclasses, one coherent model.

Owned by console/sim/world.py, which mutates it under its clock. The protocol
fronts (pve_api, docker_api, traefik_api, ssh_server) read it and call World
methods to change it; they never mutate these objects themselves.
Sizes are bytes, times are sim-clock seconds (World.now()), which is an epoch
time advancing `speed` times faster than real time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

GiB = 1024**3
TiB = 1024**4


@dataclass
class SimNode:
    name: str  # "pve1"
    ip: str  # cluster address shown in /cluster/status, e.g. "10.0.0.11"
    maxcpu: int = 4
    maxmem: int = 16 * GiB
    status: str = "online"  # "online" | "offline" | "rebooting" | "stopping" (clean shutdown under way)
    boot_time: float = 0.0  # sim time the node last came up
    load: float = 0.08  # base CPU fraction besides guests
    pve_version: str = "8.2.4"  # pve-manager version
    kernel: str = "6.8.12-4-pve"  # running kernel
    kernels: list[str] = field(default_factory=lambda: ["6.8.12-4-pve"])  # installed
    pinned_kernel: str | None = None  # proxmox-boot-tool kernel pin (next boot or permanent)
    pin_next_boot_only: bool = False
    packages: dict[str, str] = field(default_factory=dict)  # installed name -> version
    upgradable: dict[str, str] = field(default_factory=dict)  # name -> new version (after apt update)
    repo: dict[str, str] = field(default_factory=dict)  # name -> newest version in the repository
    apt_updated_at: float | None = None
    ha_maintenance: bool = False  # ha-manager crm-command node-maintenance enable
    ssh_port: int = 0
    zfs_root: str | None = "rpool/ROOT/pve-1"  # root dataset, None if not ZFS
    zfs_snapshots: list[str] = field(default_factory=list)


@dataclass
class SimGuest:
    vmid: int
    name: str
    type: str  # "qemu" | "lxc"
    node: str
    status: str = "running"  # "running" | "stopped"
    maxmem: int = 2 * GiB
    mem_fraction: float = 0.45  # mem in use = maxmem * this
    cpus: int = 2
    cpu: float = 0.05  # fraction of its vCPUs in use
    maxdisk: int = 32 * GiB
    ha: bool = False  # managed by HA
    ha_state: str = "started"  # HA request/state: started, stopped, error, ...
    ha_failback: bool = True  # PVE 9 HA resource option: back to a higher-priority node when it comes online
    tags: list[str] = field(default_factory=list)
    lock: str | None = None  # "migrate" while migrating
    local_resources: list[str] = field(default_factory=list)  # e.g. ["hostpci0"]: cannot migrate
    role: str = "app"  # "firewall" | "swarm" | "mail" | "db" | "app" ...
    started_at: float = 0.0  # for uptime
    migrating_to: str | None = None


@dataclass
class SimOsd:
    id: int
    host: str  # node name
    up: bool = True
    in_: bool = True
    size: int = 1 * 10**12  # 1 TB
    used: int = 0
    pgs: int = 0
    device_class: str = "ssd"
    down_since: float | None = None


@dataclass
class SimPool:
    id: int
    name: str
    size: int = 3
    min_size: int = 2
    pg_num: int = 32
    stored: int = 0
    application: str = "rbd"  # "rbd" | "cephfs"


@dataclass
class SimCeph:
    # every lab its own cluster identity (console/maintenance/identity.py): a journal of one lab
    # must never be taken for another's
    fsid: str = field(default_factory=lambda: str(uuid.uuid4()))
    flags: set[str] = field(default_factory=lambda: {"sortbitwise", "recovery_deletes", "purged_snapdirs",
                                                     "pglog_hardlimit"})
    mons: dict[str, str] = field(default_factory=dict)  # mon name -> host node
    mgrs: list[str] = field(default_factory=list)  # mgr names (= host node); first running one is active
    mgr_active: str | None = None
    mds: dict[str, str] = field(default_factory=dict)  # mds name -> host node
    mds_active: str | None = None
    fs_name: str = "cephfs"
    degraded_pgs: int = 0  # PGs currently active+undersized+degraded
    recovering_pgs: int = 0  # PGs currently active+recovering
    degraded_objects: int = 0  # missing object copies (Ceph counts copies, not objects)
    total_objects: int = 0  # objects stored (each has `pool size` copies)
    group_flags: dict[str, set[str]] = field(default_factory=dict)  # `ceph osd set-group`: crush node/osd -> flags


@dataclass
class SimSwarmNode:
    id: str  # 25-char docker id
    hostname: str  # = name of the VM guest running it
    role: str = "manager"
    availability: str = "active"
    leader: bool = False
    engine_version: str = "26.1.5"
    addr: str = "10.0.0.21"
    version: int = 10  # object version (bumped on every update)
    created_at: float = 0.0
    updated_at: float = 0.0
    labels: dict = field(default_factory=dict)  # Spec.Labels, set through node update


@dataclass
class SimService:
    id: str
    name: str
    image: str
    replicas: int = 2  # desired (replicated mode)
    mode: str = "replicated"  # "replicated" | "global"
    version: int = 10
    spec: dict = field(default_factory=dict)  # the Docker ServiceSpec as given/updated
    previous_spec: dict | None = None
    update_status: dict | None = None  # {"State": ..., "StartedAt": ..., "CompletedAt": ..., "Message": ...}
    created_at: float = 0.0
    updated_at: float = 0.0
    web_port: int | None = None  # if Traefik routes to it
    failing_image: bool = False  # an update to this image makes tasks fail (for rollback tests)


@dataclass
class SimTask:
    id: str
    service_id: str
    slot: int | None
    node_id: str | None
    state: str = "running"  # new, pending, assigned, starting, running, shutdown, failed, rejected, orphaned
    desired_state: str = "running"
    error: str | None = None
    message: str = "started"
    image: str = ""
    spec_version: int = 10
    created_at: float = 0.0
    updated_at: float = 0.0
    container_id: str = ""


@dataclass
class SimRouter:
    name: str  # "web@docker"
    protocol: str  # "http" | "tcp" | "udp"
    rule: str | None
    entrypoints: list[str]
    service: str  # "web" (provider-less name, Traefik adds @provider)
    tls: bool = False
    middlewares: list[str] = field(default_factory=list)
    provider: str = "docker"
    status: str = "enabled"
    errors: list[str] = field(default_factory=list)


@dataclass
class SimVrrpInstance:
    iname: str
    vrid: int
    vips: list[str]


@dataclass
class SimFirewall:
    name: str  # "fw1"
    vmid: int  # the guest it runs as
    ssh_port: int = 0
    keepalived_running: bool = True
    state: int = 1  # 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT
    base_priority: int = 100
    track_value: int = 0  # track_file value; weight 0 => non-zero means FAULT
    vips: list[str] = field(default_factory=lambda: ["10.0.0.1/24"])
    iname: str = "VI_1"
    vrid: int = 51
    last_transition: float = 0.0
    become_master: int = 0
    release_master: int = 0
    nopreempt: bool = True
    pid: int = 1234
    # more instances beside (iname, vrid, vips); with sync_group set they form one keepalived
    # vrrp_sync_group, which changes state as a whole: they share the firewall's state
    more: list[SimVrrpInstance] = field(default_factory=list)
    sync_group: str | None = None

    def vrrp_instances(self) -> list[SimVrrpInstance]:
        return [SimVrrpInstance(self.iname, self.vrid, self.vips), *self.more]

    @property
    def effective_priority(self) -> int:
        return 0 if self.track_value else self.base_priority


@dataclass
class PveTask:
    upid: str
    node: str
    type: str  # "qmigrate", "vzmigrate", "qmstart", "srvreboot", "aptupdate", ...
    id: str  # vmid or ""
    user: str
    starttime: float
    pid: int
    pstart: int
    endtime: float | None = None
    exitstatus: str | None = None  # "OK" or an error message; None while running
    log: list[str] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.endtime is None


@dataclass
class Availability:
    """Service-seconds lost, counted on every tick."""

    guests: dict[int, float] = field(default_factory=dict)  # vmid -> seconds not running (while desired running)
    services: dict[str, float] = field(default_factory=dict)  # swarm service name -> seconds with 0 running tasks
    vip_absent: float = 0.0  # seconds with no firewall holding the VIP
    vip_longest_gap: float = 0.0
    service_degraded: dict[str, float] = field(default_factory=dict)  # seconds below desired replicas


@dataclass
class Faults:
    """Faults currently injected (see World.inject)."""

    api_latency: dict[str, float] = field(default_factory=dict)  # family -> seconds: pve|docker|traefik|ssh|ceph
    api_error_rate: dict[str, float] = field(default_factory=dict)  # family -> 0..1
    apt_fail: set[str] = field(default_factory=set)  # nodes whose dist-upgrade fails
    no_return: set[str] = field(default_factory=set)  # nodes that do not come back from reboot
    bad_kernel: set[str] = field(default_factory=set)  # nodes whose new kernel boots but fails verification
    osd_stuck: set[int] = field(default_factory=set)  # OSDs that do not come up again
    vip_stuck: bool = False  # the VIP does not move on failover (peer ignores)
    split_brain: bool = False
    traefik_backend_down: set[str] = field(default_factory=set)  # service names
    ha_error: set[int] = field(default_factory=set)  # vmids in HA error
    migrate_fail: set[int] = field(default_factory=set)  # vmids whose migration fails
    mon_stopped: set[str] = field(default_factory=set)  # mon names whose daemon is stopped (fault mon-down)
