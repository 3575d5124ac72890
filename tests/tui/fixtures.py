"""Deterministic fake lab for the TUI tests: model objects, fake pollers, fake actions.

Shaped like the reference lab (3 nodes, 3 OSDs, 3 Swarm managers, two
firewalls with one VIP). Tests mutate `FakeLab` fields (frozen dataclasses are
swapped with dataclasses.replace) and drive polls with hub.poll_all_once().
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from console.config_model import ClusterConfig, Config
from console.errors import ConsoleError, ReadOnlyError
from console.model import (
    CephPool, CephRates, CephState, Firewall, Guest, HaService, HaStatus, MdsDaemon, Node, Osd,
    ProxmoxState, SwarmNode, SwarmService, SwarmState, SwarmTask, TraefikEntryPoint, TraefikRouter, TraefikServer,
    TraefikService, TraefikState, VrrpInstance, VrrpState,
)
from console.poller import Hub, Poller

GiB = 1024 ** 3
WALL_NOW = 1_764_000_000.0  # fixed epoch for "last change" columns


class FrozenClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def seed_proxmox() -> ProxmoxState:
    nodes = tuple(
        Node(f"pve{i}", "online", cpu=0.11 * i, maxcpu=4, mem=(5 + i) * GiB, maxmem=16 * GiB, uptime=86400 * 12 + 3600 * i,
             pve_version="8.2.4", kernel="6.8.12-4-pve", pending_updates=[0, 3, 12][i - 1], ha_lrm="active",
             ip=f"192.0.2.1{i}", local=i == 1)
        for i in (1, 2, 3))
    guests = (
        Guest(100, "fw1", "qemu", "pve1", "running", 0.04, 2, 1 * GiB, 2 * GiB, 86400 * 3, ("net",), "started"),
        Guest(101, "fw2", "qemu", "pve2", "running", 0.03, 2, 1 * GiB, 2 * GiB, 86400 * 3, ("net",), "started"),
        Guest(110, "swarm1", "qemu", "pve1", "running", 0.21, 2, 3 * GiB, 4 * GiB, 86400 * 5, ("swarm",), "started"),
        Guest(111, "swarm2", "qemu", "pve2", "running", 0.18, 2, 3 * GiB, 4 * GiB, 86400 * 5, ("swarm",), "started"),
        Guest(112, "swarm3", "qemu", "pve3", "running", 0.25, 2, 3 * GiB, 4 * GiB, 86400 * 5, ("swarm",), "started"),
        Guest(200, "mail", "lxc", "pve3", "running", 0.07, 2, 2 * GiB, 4 * GiB, 86400 * 9, ("prod", "mail"), "started"),
        Guest(201, "db", "lxc", "pve1", "running", 0.12, 2, 2 * GiB, 4 * GiB, 86400 * 9, ("prod", "db"), "started"),
        Guest(300, "scratch", "qemu", "pve2", "stopped", 0.0, 1, 0, 1 * GiB, 0, ("test",), None),
        Guest(301, "backup-test", "lxc", "pve3", "stopped", 0.0, 1, 0, 512 * 1024 ** 2, 0, (), None, "backup"),
    )
    ha = HaStatus(True, "pve1", "active", tuple((f"pve{i}", "active") for i in (1, 2, 3)),
                  tuple(HaService(("vm:" if g.type == "qemu" else "ct:") + str(g.vmid), "started", g.node, "started")
                        for g in guests if g.ha_state))
    return ProxmoxState("homelab", True, 3, 3, nodes, guests, ha, "https://192.0.2.11:8006")


def seed_ceph() -> CephState:
    osds = tuple(Osd(i, f"pve{i + 1}", True, True, "ssd", 1000 * GiB, (310 + 20 * i) * GiB, 31.0 + 2 * i, 129, 1.0)
                 for i in range(3))
    pools = (CephPool(".mgr", 1, 2 * 1024 ** 2, 6 * 1024 ** 2, 0.0, 280 * GiB, 3, 2),
             CephPool("vm-disks", 2, 300 * GiB, 900 * GiB, 32.1, 280 * GiB, 3, 2),
             CephPool("cephfs_data", 3, 40 * GiB, 120 * GiB, 4.4, 280 * GiB, 3, 2))
    return CephState("HEALTH_OK", (), "5c1d-fsid", ("pve1", "pve2", "pve3"), ("pve1", "pve2", "pve3"), "pve1", True,
                     ("pve2",), (MdsDaemon("pve1", "up:active", "cephfs"), MdsDaemon("pve2", "up:standby", "cephfs")),
                     osds, 3, 3, 3, frozenset(), (("active+clean", 193),), 193, pools, 3000 * GiB, 990 * GiB,
                     2010 * GiB, CephRates(2 * 1024 ** 2, 5 * 1024 ** 2, 40, 120))


def seed_swarm() -> SwarmState:
    nodes = tuple(SwarmNode(f"node{i}id", f"swarm{i}", "manager", "active", "ready", i == 1, "reachable", "27.3.1",
                            f"10.0.0.{10 + i}", 10) for i in (1, 2, 3))
    services = (
        SwarmService("svc-traefik", "traefik", "global", 3, 3, "traefik:v3.1", "completed"),
        SwarmService("svc-web", "web", "replicated", 2, 2, "nginx:1.27", None),
        SwarmService("svc-api", "api", "replicated", 3, 3, "ghcr.io/home/api:2.4.1", "completed"),
        SwarmService("svc-whoami", "whoami", "replicated", 1, 1, "traefik/whoami:v1.10", None),
    )
    tasks = []
    for s in services:
        for slot in range(1, s.replicas_desired + 1):
            n = (slot - 1) % 3 + 1
            tasks.append(SwarmTask(f"{s.name}task{slot}xxxxxxxxxxxx", s.id, f"node{n}id", "running", "running", slot,
                                   f"swarm{n}", None, "Started", "2026-11-24T08:00:00Z"))
    return SwarmState(nodes, services, tuple(tasks), "swarm1")


def seed_traefik() -> TraefikState:
    routers = (
        TraefikRouter("web@swarm", "http", "Host(`web.home.lan`)", ("websecure",), "web@swarm", "enabled", True,
                      provider="swarm"),
        TraefikRouter("api@swarm", "http", "Host(`api.home.lan`) && PathPrefix(`/v2`)", ("websecure",), "api@swarm",
                      "enabled", True, provider="swarm"),
        TraefikRouter("whoami@swarm", "http", "Host(`whoami.home.lan`)", ("web",), "whoami@swarm", "enabled",
                      provider="swarm"),
        TraefikRouter("mail-smtp@file", "tcp", "HostSNI(`*`)", ("smtp",), "mail@file", "enabled", provider="file"),
        TraefikRouter("dns@file", "udp", None, ("dns",), "dns@file", "enabled", provider="file"),
    )
    services = (
        TraefikService("web@swarm", "http", "loadbalancer", "enabled",
                       (TraefikServer("http://10.0.1.2:80", "UP"), TraefikServer("http://10.0.1.3:80", "UP")),
                       used_by=("web@swarm",)),
        TraefikService("api@swarm", "http", "loadbalancer", "enabled",
                       tuple(TraefikServer(f"http://10.0.1.{i}:8080", "UP") for i in (4, 5, 6)), used_by=("api@swarm",)),
        TraefikService("whoami@swarm", "http", "loadbalancer", "enabled", (TraefikServer("http://10.0.1.7:80", "UP"),)),
        TraefikService("mail@file", "tcp", "loadbalancer", "enabled", (TraefikServer("192.0.2.30:25", None),)),
        TraefikService("dns@file", "udp", "loadbalancer", "enabled", (TraefikServer("192.0.2.53:53", None),)),
    )
    eps = (TraefikEntryPoint("web", ":80"), TraefikEntryPoint("websecure", ":443"))
    return TraefikState("3.1.2", routers, services, (), eps)


def seed_vrrp() -> VrrpState:
    def fw(name: str, state: str, prio: int, holds: bool) -> Firewall:
        inst = VrrpInstance("VI_1", 51, state, prio, prio, ("192.0.2.1/24",), WALL_NOW - 3600 * 5, 3 if holds else 2)
        addrs = ("192.0.2.2/24", "192.0.2.1/24") if holds else ("192.0.2.3/24",)
        return Firewall(name, name, True, None, (inst,), addrs)

    return VrrpState((fw("fw1", "MASTER", 150, True), fw("fw2", "BACKUP", 100, False)), "fw1")


SEEDS = {"proxmox": seed_proxmox, "ceph": seed_ceph, "swarm": seed_swarm, "traefik": seed_traefik, "vrrp": seed_vrrp}


@dataclass
class FakeLab:
    """What the fake pollers fetch; set `failures[source]` to make a fetch raise."""

    data: dict = field(default_factory=lambda: {name: make() for name, make in SEEDS.items()})
    failures: dict = field(default_factory=dict)
    fetches: dict = field(default_factory=dict)

    def fetcher(self, source: str):
        async def fetch():
            self.fetches[source] = self.fetches.get(source, 0) + 1
            if source in self.failures:
                raise ConsoleError(source, self.failures[source])
            return self.data[source]
        return fetch

    def update(self, source: str, **changes) -> None:
        self.data[source] = replace(self.data[source], **changes)

    def hub(self, clock, unconfigured: tuple[str, ...] = ()) -> Hub:
        pollers = [Poller(s, self.fetcher(s), interval=2.0, timeout=5.0, clock=clock)
                   for s in SEEDS if s not in unconfigured]
        return Hub(pollers, unconfigured=unconfigured)


class FakeActions:
    """Records calls like console.actions.Actions, with the same read-only guard."""

    def __init__(self, read_only: bool = False, cluster: str = "home") -> None:
        self.read_only = read_only
        self.cluster = cluster
        self.calls: list[tuple] = []
        self.logs = {"web": [f"2026-11-24T08:00:0{i}Z GET /index.html 200" for i in range(5)]
                     + ["2026-11-24T08:00:09Z GET /missing 404"]}

    def _record(self, *call) -> None:
        if self.read_only:
            raise ReadOnlyError(" ".join(map(str, call)), self.cluster)
        self.calls.append(call)

    async def service_logs(self, service: str, tail: int = 200) -> list[str]:
        return list(self.logs.get(service, []))

    async def guest_power(self, node, vmid, kind, action):
        self._record("guest_power", node, vmid, kind, action)
        return "UPID:fake"

    async def node_availability(self, node, availability):
        self._record("node_availability", node, availability)

    async def service_rollback(self, service):
        self._record("service_rollback", service)

    # -- h-operate2: the operations of console/ops/operate_actions.py, recorded; a service's spec from seed_swarm
    previous = {"web": "nginx:1.26"}  # services with a previous spec (what ctrl+b returns to)

    async def swarm_service(self, ref):
        from console.ops.swarm import ServiceInfo, ServiceSpec

        s = next((x for x in seed_swarm().services if ref in (x.name, x.id)), None)
        if s is None:
            raise ConsoleError("swarm", f"no service {ref!r} in the swarm")
        replicas = s.replicas_desired if s.mode == "replicated" else None
        image, _, digest = s.image.partition("@")
        prev = self.previous.get(s.name)
        return ServiceInfo(s.id, s.name, 10, ServiceSpec(image, digest or None, s.mode, replicas),
                           ServiceSpec(prev, None, s.mode, replicas) if prev else None)

    def _done(self, *call):
        from console.ops.common import ActionResult

        self._record(*call)
        return ActionResult(call[0], str(call[1]), "", ok=True, message=f"{call[0]}: done")

    async def swarm_scale(self, ref, replicas, info=None):
        return self._done("swarm_scale", ref, replicas)

    async def swarm_update(self, ref, image, info=None):
        return self._done("swarm_update", ref, image)

    async def swarm_force_update(self, ref, info=None):
        return self._done("swarm_force_update", ref)

    async def swarm_rollback(self, ref, info=None):
        return self._done("swarm_rollback", ref)

    async def swarm_availability(self, node, value):
        return self._done("swarm_availability", node, value)

    async def vip_failback_plan(self):
        from console.ops.firewall import FailbackPlan

        return FailbackPlan("fw1", "fw2", True)

    async def vip_failback(self, plan=None):
        from console.ops.firewall import FailbackResult

        self._record("vip_failback", plan.preferred if plan else None)
        return FailbackResult("vip-failback", "fw1", "", ok=True, message="fw1 holds the VIP; gap 0.20 s",
                              gap_s=0.2)

    async def ceph_flag(self, flag, on):
        return self._done("ceph_flag", flag, on)

    async def shell_plan(self, target):
        from console.config_model import SshConfig
        from console.ops.shells import node_shell

        if self.read_only:
            raise ReadOnlyError(f"open a shell on {target}", self.cluster)
        return node_shell(SshConfig(), str(target))


def test_config() -> Config:
    return Config((ClusterConfig("home", color="green"), ClusterConfig("lab2", color="magenta", read_only=True)),
                  default_cluster="home")


def large_proxmox(n_guests: int = 2000, n_nodes: int = 24) -> ProxmoxState:
    nodes = tuple(Node(f"pve{i:02d}", "online", 0.3, 32, 80 * GiB, 256 * GiB, 86400 * 30, "8.2.4", "6.8.12-4-pve", 0,
                       "active") for i in range(n_nodes))
    guests = tuple(Guest(1000 + i, f"guest-{i:04d}", "qemu" if i % 3 else "lxc", f"pve{i % n_nodes:02d}",
                         "running" if i % 17 else "stopped", (i % 100) / 100, 4, (i % 8 + 1) * GiB, 8 * GiB,
                         86400 + i * 60, ("prod",) if i % 2 else ("dev", "web"), "started" if i % 5 == 0 else None)
                   for i in range(n_guests))
    return ProxmoxState("large", True, n_nodes, n_nodes, nodes, guests)


def large_lab(n_guests: int = 2000) -> FakeLab:
    """Scale like the sim's `large` scenario: thousands of guests and tasks, hundreds of OSDs, services, routers."""
    lab = FakeLab()
    lab.data["proxmox"] = large_proxmox(n_guests)
    hosts = [f"pve{i:02d}" for i in range(24)]
    osds = tuple(Osd(i, hosts[i % 24], i % 97 != 0, True, "ssd", 2000 * GiB, (400 + i) * GiB, 20 + i % 60, 100 + i % 50)
                 for i in range(240))
    lab.update("ceph", osds=osds, num_osds=240, num_up_osds=sum(o.up for o in osds), num_in_osds=240)
    services = tuple(SwarmService(f"svc{i}", f"service-{i:03d}", "replicated", 3 - (i % 41 == 0), 3,
                                  f"registry.lan/app{i}:1.{i % 7}", "completed") for i in range(300))
    tasks = tuple(SwarmTask(f"task{i:05d}", f"svc{i // 10}", f"node{i % 3 + 1}id", "running", "running", i % 10 + 1,
                            f"swarm{i % 3 + 1}", None, "Started", "2026-11-24T08:00:00Z") for i in range(3000))
    lab.update("swarm", services=services, tasks=tasks)
    routers = tuple(TraefikRouter(f"r{i}@swarm", "http", f"Host(`app{i}.home.lan`)", ("websecure",), f"s{i}@swarm",
                                  "enabled" if i % 53 else "warning", True) for i in range(300))
    tservices = tuple(TraefikService(f"s{i}@swarm", "http", "loadbalancer", "enabled",
                                     tuple(TraefikServer(f"http://10.1.{i // 200}.{i % 200}:{8000 + k}", "UP")
                                           for k in range(3))) for i in range(300))
    lab.update("traefik", routers=routers, services=tservices)
    return lab
