"""Scenarios: `seed` (the reference lab of design.md), `large` (for scale work) and
`hostile` (the seed lab with attacker-controlled text everywhere: scenario_hostile.py).

Both are built converged: every guest that should run runs, HEALTH_OK, every
Swarm service at its desired replicas, fw1 MASTER.
"""

from __future__ import annotations

import copy
import heapq

from console.sim import SCENARIOS
from console.sim.pve_ha_rules import add_rule
from console.sim.state import (
    GiB,
    SimFirewall,
    SimGuest,
    SimNode,
    SimOsd,
    SimPool,
    SimRouter,
    SimService,
    SimSwarmNode,
    SimTask,
    SimVrrpInstance,
)

OLD_KERNEL = "6.8.12-4-pve"
NEW_KERNEL = "6.8.12-5-pve"
INSTALLED = {
    "proxmox-ve": "8.2.0",
    "pve-manager": "8.2.4",
    "proxmox-kernel-6.8": "6.8.12-4",
    f"proxmox-kernel-{OLD_KERNEL}-signed": "6.8.12-4",
    "qemu-server": "8.2.3",
    "pve-qemu-kvm": "9.0.2-2",
    "pve-container": "5.1.12",
    "pve-ha-manager": "4.0.5",
    "libpve-common-perl": "8.2.2",
    "libpve-storage-perl": "8.2.3",
    "pve-cluster": "8.0.7",
    "corosync": "3.1.7-pve3",
    "lxc-pve": "6.0.0-1",
    "zfsutils-linux": "2.2.4-pve1",
    "ceph": "18.2.2-pve1",
    "ceph-common": "18.2.2-pve1",
    "ceph-mon": "18.2.2-pve1",
    "ceph-osd": "18.2.2-pve1",
    "ceph-mds": "18.2.2-pve1",
    "openssh-server": "1:9.2p1-2+deb12u3",
    "proxmox-backup-client": "3.2.7-1",
}
REPO_NEWER = {
    "pve-manager": "8.2.5",
    "proxmox-kernel-6.8": "6.8.12-5",
    f"proxmox-kernel-{NEW_KERNEL}-signed": "6.8.12-5",
    "qemu-server": "8.2.4",
    "pve-qemu-kvm": "9.0.2-3",
    "libpve-common-perl": "8.2.3",
    "ceph": "18.2.4-pve3",
    "ceph-common": "18.2.4-pve3",
    "ceph-mon": "18.2.4-pve3",
    "ceph-osd": "18.2.4-pve3",
    "ceph-mds": "18.2.4-pve3",
    "openssh-server": "1:9.2p1-2+deb12u4",
}

# name, image, mode, replicas, web port (None: not behind Traefik)
def seed_vrrp() -> dict:
    """The seed firewalls' keepalived: one instance per VLAN (WAN, LAN, IOT), each with its own VIP,
    in one sync group VG_1, as a routing firewall pair has them."""
    return {"iname": "WAN", "vrid": 51, "vips": ["10.0.0.1/24"], "sync_group": "VG_1",
            "more": [SimVrrpInstance("LAN", 52, ["10.0.10.1/24"]), SimVrrpInstance("IOT", 53, ["10.0.30.1/24"])]}


SEED_SERVICES = [
    ("traefik", "traefik:v3.1.2", "global", 0, None),
    ("whoami", "traefik/whoami:v1.10.3", "replicated", 2, 80),
    ("nextcloud", "nextcloud:29.0.7-apache", "replicated", 2, 80),
    ("gitea", "gitea/gitea:1.22.2", "replicated", 1, 3000),
    ("vaultwarden", "vaultwarden/server:1.32.0", "replicated", 2, 80),
    ("grafana", "grafana/grafana:11.2.0", "replicated", 2, 3000),
    ("prometheus", "prom/prometheus:v2.54.1", "replicated", 1, 9090),
    ("uptime-kuma", "louislam/uptime-kuma:1.23.14", "replicated", 1, 3001),
]


def build(world, scenario: str) -> None:
    if scenario == "seed":
        build_seed(world)
    elif scenario == "large":
        build_large(world)
    elif scenario == "hostile":
        from console.sim.scenario_hostile import build_hostile

        build_hostile(world, build_seed, _guest, _service, SimRouter)
    else:
        raise ValueError(f"unknown scenario {scenario!r} (known: {', '.join(SCENARIOS)})")
    _finish(world)


# ------------------------------------------------------------------ helpers
def _node(world, name: str, ip: str, maxcpu: int = 4, maxmem: int = 16 * GiB) -> SimNode:
    n = SimNode(name=name, ip=ip, maxcpu=maxcpu, maxmem=maxmem, boot_time=world._t - 86400 * 12)
    n.packages = dict(INSTALLED)
    n.kernels = [OLD_KERNEL]
    n.kernel = OLD_KERNEL
    n.pve_version = INSTALLED["pve-manager"]
    n.repo = {**INSTALLED, **REPO_NEWER}
    n.apt_updated_at = world._t - 3600
    world.nodes[name] = n
    world._good_kernels[name] = set(n.kernels)
    for pkg, ver in n.repo.items():
        world._known_versions.setdefault(pkg, set()).add(ver)
    for pkg, ver in INSTALLED.items():
        world._known_versions.setdefault(pkg, set()).add(ver)
    return n


def _guest(world, vmid, name, type_, node, mem_gib, cpus, *, ha=False, role="app", tags=(), local=(),
           running=True) -> SimGuest:
    g = SimGuest(
        vmid=vmid, name=name, type=type_, node=node, maxmem=int(mem_gib * GiB), cpus=cpus, ha=ha, role=role,
        tags=list(tags), local_resources=list(local), status="running" if running else "stopped",
        ha_state="started" if running else "stopped", started_at=world._t - 86400 * 3 - vmid,
        cpu=0.03 + (vmid % 7) / 50, mem_fraction=0.35 + (vmid % 5) / 20, maxdisk=(8 if type_ == "lxc" else 32) * GiB,
    )
    world.guests[vmid] = g
    world._guest_by_name[name] = g
    if running:
        world.desired_running.add(vmid)
    return g


def _spec(name: str, image: str, mode: str, replicas: int, port: int | None, rule_host: str) -> dict:
    labels = {"com.docker.stack.namespace": "lab"}
    if port:
        labels.update(
            {
                "traefik.enable": "true",
                f"traefik.http.routers.{name}.rule": f"Host(`{rule_host}`)",
                f"traefik.http.routers.{name}.entrypoints": "websecure",
                f"traefik.http.routers.{name}.tls": "true",
                f"traefik.http.services.{name}.loadbalancer.server.port": str(port),
            }
        )
    update = {"Parallelism": 1, "Delay": 0, "FailureAction": "pause", "Monitor": 5_000_000_000, "MaxFailureRatio": 0,
              "Order": "stop-first"}
    return {
        "Name": name,
        "Labels": labels,
        "TaskTemplate": {
            "ContainerSpec": {"Image": image, "Labels": {"com.docker.stack.namespace": "lab"}, "Isolation": "default"},
            "Resources": {"Limits": {}, "Reservations": {}},
            "RestartPolicy": {"Condition": "any", "Delay": 5_000_000_000, "MaxAttempts": 0},
            "Placement": {},
            "Networks": [{"Target": "lab_proxy"}],
            "ForceUpdate": 0,
            "Runtime": "container",
        },
        "Mode": {"Global": {}} if mode == "global" else {"Replicated": {"Replicas": replicas}},
        "UpdateConfig": update,
        "RollbackConfig": dict(update),
        "EndpointSpec": {"Mode": "vip"},
    }


def _service(world, name, image, mode, replicas, port, domain="lab.home") -> SimService:
    sid = world._docker_id()
    spec = _spec(name, image, mode, replicas, port, f"{name}.{domain}")
    svc = SimService(id=sid, name=name, image=image, replicas=replicas if mode == "replicated" else 0, mode=mode,
                     spec=spec,
                     created_at=world._t - 86400 * 20, updated_at=world._t - 86400 * 2, web_port=port,
                     version=20 + len(world.services))
    world.services[sid] = svc
    world._template_version[sid] = svc.version
    world._templates[sid] = {svc.version: copy.deepcopy(spec["TaskTemplate"])}
    world._good_images[sid] = {image}
    return svc


def _swarm_node(world, hostname: str, addr: str, role="manager", leader=False) -> SimSwarmNode:
    sn = SimSwarmNode(id=world._docker_id(), hostname=hostname, role=role, leader=leader, addr=addr,
                      created_at=world._t - 86400 * 30, updated_at=world._t - 86400)
    world.swarm_nodes[sn.id] = sn
    return sn


def _place_tasks(world) -> None:
    """Initial tasks, running, spread evenly (cheap: no scheduler round per task)."""
    node_ids = [sid for sid, sn in world.swarm_nodes.items() if sn.availability == "active"]
    load = [(0, i, nid) for i, nid in enumerate(node_ids)]
    heapq.heapify(load)
    for svc in world.services.values():
        targets = node_ids if svc.mode == "global" else None
        count = len(node_ids) if svc.mode == "global" else svc.replicas
        for k in range(count):
            if targets is not None:
                nid = targets[k]
            else:
                used, i, nid = heapq.heappop(load)
                heapq.heappush(load, (used + 1, i, nid))
            t = SimTask(id=world._docker_id(), service_id=svc.id, slot=None if svc.mode == "global" else k + 1,
                        node_id=nid,
                        image=svc.image, spec_version=svc.version, created_at=svc.updated_at, updated_at=svc.updated_at,
                        container_id=world._hex_id())
            world.tasks[t.id] = t


def _routers_for(world, svc: SimService, domain: str = "lab.home") -> None:
    world.routers.append(SimRouter(name=f"{svc.name}@docker", protocol="http", rule=f"Host(`{svc.name}.{domain}`)",
                                   entrypoints=["websecure"], service=svc.name, tls=True,
                                   middlewares=["secure-headers@docker"]))


def _traefik_common(world, domain: str = "lab.home") -> None:
    world.traefik_entrypoints = {"web": ":80", "websecure": ":443", "gitea-ssh": ":2222", "traefik": ":8080"}
    world.traefik_middlewares = {
        "secure-headers@docker": {"type": "headers", "headers": {"stsSeconds": 31536000, "frameDeny": True}},
        "redirect-to-https@docker": {"type": "redirectscheme",
                                     "redirectScheme": {"scheme": "https", "permanent": True}},
    }
    world.routers.append(SimRouter(name="http-catchall@docker", protocol="http", rule="HostRegexp(`.+`)",
                                   entrypoints=["web"],
                                   service="noop@internal", middlewares=["redirect-to-https@docker"]))
    world.routers.append(SimRouter(name="dashboard@docker", protocol="http",
                                   rule=f"Host(`traefik.{domain}`) && (PathPrefix(`/api`) || PathPrefix(`/dashboard`))",
                                   entrypoints=["websecure"], service="api@internal", tls=True))


def _ceph_common(world, pools: list[tuple[str, int, int, str]]) -> None:
    for i, (name, pg_num, stored, app) in enumerate(pools, 1):
        world.pools.append(SimPool(id=i, name=name, pg_num=pg_num, stored=stored, application=app))
    n = max(len(world.osds), 1)
    replicas = sum(p.pg_num * p.size for p in world.pools)
    used = sum(p.stored * p.size for p in world.pools)
    for o in world.osds.values():
        o.pgs = replicas // n
        o.used = used // n


def _finish(world) -> None:
    for n in world.nodes.values():  # the daily apt update already ran: updates are pending
        n.upgradable = world._pending(n)
    # converge instantly: run queued events without letting the clock move
    world._reconcile()
    while world._events:
        _, _, fn, args = heapq.heappop(world._events)
        fn(*args)
        world._reconcile()


# -------------------------------------------------------------------- seed
def build_seed(world) -> None:
    for i in (1, 2, 3):
        _node(world, f"pve{i}", f"10.0.0.1{i}")
        world.osds[i - 1] = SimOsd(id=i - 1, host=f"pve{i}", size=1 * 10**12)
        world.ceph.mons[f"pve{i}"] = f"pve{i}"
    world.ceph.mgrs = ["pve1", "pve2", "pve3"]
    world.ceph.mgr_active = "pve1"
    world.ceph.mds = {"pve1": "pve1", "pve2": "pve2"}
    world.ceph.mds_active = "pve1"
    _ceph_common(world, [(".mgr", 1, 2 * 1024**2, "mgr"), ("ceph-vm", 128, 180 * GiB, "rbd"),
                         ("cephfs_data", 64, 95 * GiB, "cephfs"), ("cephfs_metadata", 16, 1 * GiB, "cephfs")])

    _guest(world, 101, "fw1", "qemu", "pve1", 1, 2, ha=True, role="firewall", tags=["firewall"])
    _guest(world, 102, "fw2", "qemu", "pve2", 1, 2, ha=True, role="firewall", tags=["firewall"])
    _guest(world, 110, "homeassistant", "qemu", "pve1", 2, 2, ha=True, tags=["home"])
    _guest(world, 111, "jellyfin", "qemu", "pve3", 4, 2, tags=["media"], local=["hostpci0"])
    _guest(world, 112, "backup-server", "qemu", "pve2", 2, 2, tags=["backup"])
    _guest(world, 113, "debian-template", "qemu", "pve3", 2, 2, tags=["template"], running=False)
    for i in (1, 2, 3):
        _guest(world, 120 + i, f"swarm{i}", "qemu", f"pve{i}", 4, 2, role="swarm", tags=["swarm"])
    _guest(world, 200, "mail", "lxc", "pve1", 2, 2, ha=True, role="mail", tags=["mail", "collab"])
    _guest(world, 201, "db", "lxc", "pve2", 2, 2, ha=True, role="db", tags=["db"])
    add_rule(world, "firewalls-apart", "resource-affinity", ["vm:101", "vm:102"], affinity="negative",
             comment="the VRRP pair never shares a node")
    # prefers where it runs, pve3 next: what HA's usage-based choice picks anyway
    add_rule(world, "db-prefers-pve2", "node-affinity", ["ct:201"], nodes={"pve2": 2, "pve3": 1}, strict=False)

    for name, vmid, prio, state, pid in (("fw1", 101, 150, 2, 811), ("fw2", 102, 100, 1, 812)):
        world.firewalls[name] = SimFirewall(name=name, vmid=vmid, base_priority=prio, state=state, pid=pid,
                                            become_master=int(state == 2), last_transition=world._t - 86400,
                                            **seed_vrrp())

    for i in (1, 2, 3):
        _swarm_node(world, f"swarm{i}", f"10.0.0.2{i}", leader=i == 1)
    for name, image, mode, replicas, port in SEED_SERVICES:
        _service(world, name, image, mode, replicas, port)
    _place_tasks(world)
    _traefik_common(world)
    for svc in world.services.values():
        if svc.web_port:
            _routers_for(world, svc)
    world.routers.append(SimRouter(name="gitea-ssh@docker", protocol="tcp", rule="HostSNI(`*`)",
                                   entrypoints=["gitea-ssh"], service="gitea"))


# ------------------------------------------------------------------- large
def build_large(world) -> None:
    n_nodes, per_node_osds = 16, 6
    for i in range(1, n_nodes + 1):
        name = f"pve{i:02d}"
        _node(world, name, f"10.0.{i // 250}.{10 + i}", maxcpu=32, maxmem=256 * GiB)
        for k in range(per_node_osds):
            oid = (i - 1) * per_node_osds + k
            world.osds[oid] = SimOsd(id=oid, host=name, size=2 * 10**12)
    names = list(world.nodes)
    for name in names[:5]:
        world.ceph.mons[name] = name
    world.ceph.mgrs = names[:3]
    world.ceph.mgr_active = names[0]
    world.ceph.mds = {names[0]: names[0], names[1]: names[1]}
    world.ceph.mds_active = names[0]
    _ceph_common(world, [(".mgr", 1, 20 * 1024**2, "mgr"), ("ceph-vm", 2048, 16 * 1024 * GiB, "rbd"),
                         ("cephfs_data", 1024, 5 * 1024 * GiB, "cephfs"), ("cephfs_metadata", 64, 30 * GiB, "cephfs")])
    _guest(world, 101, "fw1", "qemu", names[0], 1, 2, ha=True, role="firewall", tags=["firewall"])
    _guest(world, 102, "fw2", "qemu", names[1], 1, 2, ha=True, role="firewall", tags=["firewall"])
    add_rule(world, "firewalls-apart", "resource-affinity", ["vm:101", "vm:102"], affinity="negative")
    n_swarm = 12
    for k in range(n_swarm):
        _guest(world, 130 + k, f"swarm{k + 1:02d}", "qemu", names[k % n_nodes], 8, 4, role="swarm", tags=["swarm"])
    vmid = 1000
    while len(world.guests) < 2000:
        type_ = "lxc" if vmid % 3 == 0 else "qemu"
        running = vmid % 17 != 0
        _guest(world, vmid, f"{'ct' if type_ == 'lxc' else 'vm'}-{vmid}", type_, names[vmid % n_nodes], 1, 1 + vmid % 4,
               ha=vmid % 4 == 0, tags=[("web", "db", "dev", "ops")[vmid % 4]], running=running)
        vmid += 1
    world.firewalls["fw1"] = SimFirewall(name="fw1", vmid=101, base_priority=150, state=2, pid=811, become_master=1)
    world.firewalls["fw2"] = SimFirewall(name="fw2", vmid=102, base_priority=100, state=1, pid=812)
    for k in range(n_swarm):
        _swarm_node(world, f"swarm{k + 1:02d}", f"10.0.2.{k + 1}", role="manager" if k < 5 else "worker", leader=k == 0)
    images = ["nginx:1.27", "traefik/whoami:v1.10.3", "redis:7.4", "postgres:16", "grafana/grafana:11.2.0"]
    _service(world, "traefik", "traefik:v3.1.2", "global", 0, None, domain="large.lab")
    _service(world, "node-exporter", "prom/node-exporter:v1.8.2", "global", 0, None, domain="large.lab")
    for k in range(298):
        _service(world, f"app{k:03d}", images[k % len(images)], "replicated", 3 + (k % 3 == 0), 80, domain="large.lab")
    _place_tasks(world)
    _traefik_common(world, "large.lab")
    for svc in world.services.values():
        if svc.web_port:
            _routers_for(world, svc, "large.lab")
            world.routers.append(SimRouter(name=f"{svc.name}-internal@docker", protocol="http",
                                           rule=f"Host(`{svc.name}.internal.large.lab`)",
                                           entrypoints=["web"], service=svc.name))
    world.routers.append(SimRouter(name="gitea-ssh@docker", protocol="tcp", rule="HostSNI(`*`)",
                                   entrypoints=["gitea-ssh"], service="app000"))
    world.routers.append(SimRouter(name="metrics@docker", protocol="http", rule="Host(`metrics.large.lab`)",
                                   entrypoints=["websecure"],
                                   service="prometheus@internal", tls=True))
