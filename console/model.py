"""Frozen, typed dataclasses for every layer the console shows.

Sources build these from what the real systems emit (see console/sources/);
health rules, screens and the maintenance planner only ever see these.
Sizes are bytes, CPU is a fraction of the node (0.0-1.0), times are epoch
seconds unless the field name says otherwise. Optional facts are None when
the system did not say.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# --------------------------------------------------------------------- Proxmox


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    status: str  # "online" | "offline" | "unknown"
    cpu: float = 0.0  # fraction 0..1
    maxcpu: int = 0
    mem: int = 0
    maxmem: int = 0
    uptime: int = 0  # seconds
    pve_version: str | None = None  # e.g. "8.2.4" (pve-manager)
    kernel: str | None = None  # running kernel, e.g. "6.8.12-4-pve"
    pending_updates: int | None = None  # None = not known yet
    ha_lrm: str | None = None  # "active" | "idle" | "maintenance" | "wait_for_agent_lock" | ...
    ip: str | None = None
    local: bool = False  # the node the API answered from


@dataclass(frozen=True, slots=True)
class Guest:
    vmid: int
    name: str
    type: str  # "qemu" | "lxc"
    node: str
    status: str  # "running" | "stopped" | "paused" | "unknown"
    cpu: float = 0.0  # fraction of the guest's vCPUs
    maxcpu: int = 0
    mem: int = 0
    maxmem: int = 0
    uptime: int = 0
    tags: tuple[str, ...] = ()
    ha_state: str | None = None  # HA state ("started", "error", ...) or None if not HA-managed
    lock: str | None = None  # "migrate", "backup", ... or None
    template: bool = False
    ha_failback: bool = True  # PVE 9 HA resource `failback`: the CRM moves it back to a preferred node

    @property
    def key(self) -> str:
        return f"{self.type}/{self.vmid}"


@dataclass(frozen=True, slots=True)
class HaService:
    sid: str  # "vm:100" / "ct:200"
    state: str  # started, stopped, error, fence, recovery, migrate, relocate, freeze, ...
    node: str
    request_state: str | None = None


@dataclass(frozen=True, slots=True)
class HaStatus:
    quorate: bool
    master: str | None  # node holding the CRM master role
    master_status: str | None = None  # e.g. "active"
    lrm: tuple[tuple[str, str], ...] = ()  # (node, state text e.g. "active", "maintenance mode")
    services: tuple[HaService, ...] = ()


@dataclass(frozen=True, slots=True)
class HaRule:
    """One HA placement rule: a PVE 9 rule (/cluster/ha/rules), or a PVE 8 HA group
    read as the node-affinity rule it becomes on upgrade (restricted -> strict)."""

    name: str  # rule id, or the group name
    kind: str  # "node-affinity" | "resource-affinity"
    resources: tuple[str, ...]  # HA resource ids: "vm:100", "ct:200"
    nodes: tuple[tuple[str, int], ...] = ()  # node-affinity: (node, priority), higher = preferred
    strict: bool = False  # node-affinity: may run only on `nodes`; none online -> stopped
    affinity: str | None = None  # resource-affinity: "positive" (same node) | "negative" (apart)
    disabled: bool = False
    origin: str = "rule"  # "rule" | "group" (PVE 8)
    comment: str | None = None

    def summary(self) -> str:
        """One line: what the rule says, e.g. "node-affinity pin-db: strict pve1:2,pve2"."""
        word = "group" if self.origin == "group" else self.kind
        if self.kind == "node-affinity":
            nodes = ",".join(f"{n}:{p}" if p else n for n, p in self.nodes)
            what = f"{'strict' if self.strict else 'non-strict'} {nodes}"
        else:
            what = f"{self.affinity or '?'} with {', '.join(self.resources)}"
        return f"{word} {self.name}: {what}" + (" (disabled)" if self.disabled else "")


@dataclass(frozen=True, slots=True)
class ProxmoxState:
    """Everything read from the PVE API in one poll: cluster, nodes, guests, HA."""

    cluster_name: str | None
    quorate: bool
    votes: int  # votes present
    expected_votes: int
    nodes: tuple[Node, ...]
    guests: tuple[Guest, ...]
    ha: HaStatus | None = None
    endpoint: str | None = None  # which endpoint answered
    ha_rules: tuple[HaRule, ...] | None = None  # None: not read (no HA, or neither rules nor groups answered)


# ------------------------------------------------------------------------ Ceph


@dataclass(frozen=True, slots=True)
class CephCheck:
    code: str  # "OSD_DOWN", "OSDMAP_FLAGS", ...
    severity: str  # "HEALTH_WARN" | "HEALTH_ERR"
    summary: str
    detail: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Osd:
    id: int
    host: str | None
    up: bool
    in_: bool
    device_class: str | None = None
    size: int = 0  # bytes
    used: int = 0
    utilization: float = 0.0  # percent 0..100
    pgs: int = 0
    reweight: float = 1.0

    @property
    def name(self) -> str:
        return f"osd.{self.id}"


@dataclass(frozen=True, slots=True)
class CephPool:
    name: str
    id: int
    stored: int = 0
    used: int = 0
    percent_used: float = 0.0  # percent 0..100
    max_avail: int = 0
    size: int | None = None
    min_size: int | None = None


@dataclass(frozen=True, slots=True)
class MdsDaemon:
    name: str
    state: str  # "up:active" | "up:standby" | "up:standby-replay" | ...
    fs: str | None = None


@dataclass(frozen=True, slots=True)
class CephRates:
    read_bytes_sec: int = 0
    write_bytes_sec: int = 0
    read_op_per_sec: int = 0
    write_op_per_sec: int = 0
    recovering_bytes_per_sec: int = 0
    recovering_objects_per_sec: int = 0
    degraded_objects: int = 0
    degraded_total: int = 0
    misplaced_objects: int = 0
    misplaced_total: int = 0


@dataclass(frozen=True, slots=True)
class CephState:
    health: str  # "HEALTH_OK" | "HEALTH_WARN" | "HEALTH_ERR"
    checks: tuple[CephCheck, ...] = ()
    fsid: str | None = None
    mons: tuple[str, ...] = ()
    quorum: tuple[str, ...] = ()  # mon names in quorum
    mgr_active: str | None = None
    mgr_available: bool = False
    mgr_standbys: tuple[str, ...] = ()
    mds: tuple[MdsDaemon, ...] = ()
    osds: tuple[Osd, ...] = ()
    num_osds: int = 0
    num_up_osds: int = 0
    num_in_osds: int = 0
    flags: frozenset[str] = frozenset()  # "noout", "norebalance", ...
    pg_states: tuple[tuple[str, int], ...] = ()  # ("active+clean", 128), ...
    num_pgs: int = 0
    pools: tuple[CephPool, ...] = ()
    bytes_total: int = 0
    bytes_used: int = 0
    bytes_avail: int = 0
    rates: CephRates = field(default_factory=CephRates)

    @property
    def clean_pgs(self) -> int:
        return sum(n for s, n in self.pg_states if s == "active+clean")


# ----------------------------------------------------------------------- Swarm


@dataclass(frozen=True, slots=True)
class SwarmNode:
    id: str
    hostname: str
    role: str  # "manager" | "worker"
    availability: str  # "active" | "pause" | "drain"
    state: str  # "ready" | "down" | "unknown" | "disconnected"
    leader: bool = False
    reachability: str | None = None  # manager: "reachable" | "unreachable"
    engine_version: str | None = None
    addr: str | None = None
    version: int = 0  # object version, needed for updates


@dataclass(frozen=True, slots=True)
class SwarmService:
    id: str
    name: str
    mode: str  # "replicated" | "global"
    replicas_running: int
    replicas_desired: int
    image: str
    update_state: str | None = None  # updating|paused|completed|rollback_started|rollback_paused|rollback_completed
    update_message: str | None = None
    version: int = 0
    labels: tuple[tuple[str, str], ...] = ()
    image_digest: str | None = None  # the digest pinned in the spec (`image` is without it)


@dataclass(frozen=True, slots=True)
class SwarmTask:
    id: str
    service_id: str
    node_id: str | None
    state: str  # running, shutdown, failed, rejected, pending, ...
    desired_state: str
    slot: int | None = None
    node_name: str | None = None
    error: str | None = None
    message: str | None = None
    timestamp: str | None = None  # Status.Timestamp as given
    exit_code: int | None = None  # Status.ContainerStatus.ExitCode, when the task had a container


@dataclass(frozen=True, slots=True)
class SwarmState:
    nodes: tuple[SwarmNode, ...]
    services: tuple[SwarmService, ...]
    tasks: tuple[SwarmTask, ...]
    manager: str | None = None  # which manager endpoint answered


# --------------------------------------------------------------------- Traefik


@dataclass(frozen=True, slots=True)
class TraefikRouter:
    name: str
    protocol: str  # "http" | "tcp" | "udp"
    rule: str | None
    entrypoints: tuple[str, ...]
    service: str | None
    status: str  # "enabled" | "warning" | "disabled"
    tls: bool = False
    errors: tuple[str, ...] = ()
    provider: str | None = None
    priority: int | None = None
    middlewares: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TraefikServer:
    url: str  # url for http, address for tcp/udp
    status: str | None  # "UP" | "DOWN" | None when Traefik gives no serverStatus


@dataclass(frozen=True, slots=True)
class TraefikService:
    name: str
    protocol: str
    type: str | None  # "loadbalancer", "weighted", ...
    status: str
    servers: tuple[TraefikServer, ...] = ()
    errors: tuple[str, ...] = ()
    provider: str | None = None
    used_by: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TraefikMiddleware:
    name: str
    type: str | None
    status: str
    errors: tuple[str, ...] = ()
    provider: str | None = None


@dataclass(frozen=True, slots=True)
class TraefikEntryPoint:
    name: str
    address: str


@dataclass(frozen=True, slots=True)
class TraefikState:
    version: str | None
    routers: tuple[TraefikRouter, ...]
    services: tuple[TraefikService, ...]
    middlewares: tuple[TraefikMiddleware, ...] = ()
    entrypoints: tuple[TraefikEntryPoint, ...] = ()


# ------------------------------------------------------------------------ VRRP

VRRP_STATES = {0: "INIT", 1: "BACKUP", 2: "MASTER", 3: "FAULT"}


@dataclass(frozen=True, slots=True)
class VrrpInstance:
    name: str  # iname, e.g. "VI_1"
    vrid: int
    state: str  # "INIT" | "BACKUP" | "MASTER" | "FAULT"
    base_priority: int
    effective_priority: int
    vips: tuple[str, ...] = ()
    last_transition: float | None = None  # epoch seconds
    master_transitions: int = 0  # stats.become_master
    nopreempt: bool = False
    sync_group: str | None = None  # keepalived vrrp_sync_group it belongs to (text dump, or vrrp.sync_groups)


@dataclass(frozen=True, slots=True)
class Firewall:
    name: str
    host: str  # ssh host alias it was read from
    answering: bool  # did keepalived answer the JSON dump
    error: str | None = None  # why not, when answering is False
    instances: tuple[VrrpInstance, ...] = ()  # when not answering: the last known ones (stale), if any
    addresses: tuple[str, ...] = ()  # from `ip -j addr`, cross-check for VIPs
    seen_at: float | None = None  # epoch seconds of its last answer (the instances' age when not answering)


@dataclass(frozen=True, slots=True)
class VrrpSyncGroup:
    """A keepalived vrrp_sync_group: its instances change state together, so they must
    all be MASTER on one firewall."""

    name: str  # e.g. "VG_1"
    members: tuple[str, ...]  # instance names
    preferred_master: str | None = None  # configured for the group, else the cluster default


@dataclass(frozen=True, slots=True)
class VrrpState:
    firewalls: tuple[Firewall, ...]
    preferred_master: str | None = None  # the cluster default (vrrp.preferred_master)
    sync_groups: tuple[VrrpSyncGroup, ...] = ()
    preferred: tuple[tuple[str, str], ...] = ()  # (instance or group name, firewall): vrrp.preferred_masters

    def preferred_for(self, name: str) -> str | None:
        """The configured preferred firewall of an instance or sync group (None: not configured)."""
        return dict(self.preferred).get(name)

    def group_of(self, instance: str) -> VrrpSyncGroup | None:
        return next((g for g in self.sync_groups if instance in g.members), None)


# --------------------------------------------------------------------- Health

SEVERITIES = ("critical", "warning", "info")


@dataclass(frozen=True, slots=True)
class Finding:
    severity: str  # "critical" | "warning" | "info" | "unknown"
    layer: str  # "cluster" | "guests" | "ceph" | "swarm" | "traefik" | "vrrp"
    subject: str  # what it is about: "pve2", "osd.3", "vm:101", "svc web", ...
    text: str
    hint: str | None = None
    # what the finding was read from, line by line, for the detail pane: Ceph's check detail, the
    # router's errors, the failed tasks' errors and exit codes, ... Supporting detail, not part of
    # the fact: findings are equal (and hash) without it, so the story's look-ups stay cheap.
    evidence: tuple[str, ...] = field(default=(), compare=False)
