"""Node software facts of the simulated PVE: `/nodes/{node}/subscription` and
`/nodes/{node}/apt/repositories`, shaped like pve-manager's answers.

Every node runs without a subscription and with the pve-no-subscription
repository. The fault `enterprise-repo NODE` turns the homelab trap on for one
node: the pve-enterprise repository enabled (and no-subscription off) while it
has no subscription, so its `apt update` fails with 401 Unauthorized.
"""

from __future__ import annotations

import hashlib
from typing import Any

from console.sim.pve_routes import PveError

ENTERPRISE = "https://enterprise.proxmox.com/debian/pve"
NO_SUB = "http://download.proxmox.com/debian/pve"
CEPH_NO_SUB = "http://download.proxmox.com/debian/ceph-reef"
TRAP_FAULT = "enterprise-repo"


def trapped(world) -> set[str]:
    """The nodes with the enterprise repository enabled and no subscription (the fault)."""
    got = getattr(world, "enterprise_repo_nodes", None)
    if got is None:
        got = world.enterprise_repo_nodes = set()
    return got


def apt_update_trap(world, node: str) -> list[str] | None:
    """The log lines of a failing `apt update` when `node` is trapped, else None."""
    if node not in trapped(world):
        return None
    return [f"Err:6 {ENTERPRISE} bookworm InRelease",
            "  401  Unauthorized [IP: 212.224.123.70 443]",
            f"E: Failed to fetch {ENTERPRISE}/dists/bookworm/InRelease  401  Unauthorized [IP: 212.224.123.70 443]",
            f"E: The repository '{ENTERPRISE} bookworm InRelease' is no longer signed."]


def _node(ctx, p) -> Any:
    n = ctx.world.nodes.get(p["node"])
    if n is None:
        raise PveError(500, f"no such cluster node '{p['node']}'")
    return n


async def subscription(ctx, p):
    n = _node(ctx, p)
    return {"status": "notfound", "message": "There is no subscription key", "url": "https://www.proxmox.com/en/proxmox-virtual-environment/pricing",
            "serverid": hashlib.md5(n.name.encode()).hexdigest().upper(), "sockets": 1}


def _repo(types, uris, suites, components, enabled: bool, comment: str = "") -> dict:
    r = {"Types": types, "URIs": uris, "Suites": suites, "Components": components, "Enabled": enabled,
         "FileType": "list"}
    if comment:
        r["Comment"] = comment
    return r


def _file(path: str, repos: list[dict]) -> dict:
    digest = list(hashlib.sha256(path.encode() + repr(repos).encode()).digest())
    return {"path": path, "file-type": "list", "repositories": repos, "digest": digest}


async def apt_repositories(ctx, p):
    n = _node(ctx, p)
    trap = n.name in trapped(ctx.world)
    files = [
        _file("/etc/apt/sources.list", [
            _repo(["deb"], ["http://deb.debian.org/debian"], ["bookworm", "bookworm-updates"],
                  ["main", "contrib"], True),
            _repo(["deb"], ["http://security.debian.org/debian-security"], ["bookworm-security"],
                  ["main", "contrib"], True),
            _repo(["deb"], [NO_SUB], ["bookworm"], ["pve-no-subscription"], not trap,
                  "Proxmox VE pve-no-subscription repository provided by proxmox.com"),
        ]),
        _file("/etc/apt/sources.list.d/pve-enterprise.list", [
            _repo(["deb"], [ENTERPRISE], ["bookworm"], ["pve-enterprise"], trap)]),
        _file("/etc/apt/sources.list.d/ceph.list", [
            _repo(["deb"], [CEPH_NO_SUB], ["bookworm"], ["no-subscription"], True)]),
    ]
    infos = []
    for f in files:
        for i, r in enumerate(f["repositories"]):
            if "pve-enterprise" in r["Components"]:
                infos.append({"path": f["path"], "index": str(i), "kind": "origin", "message": "Proxmox"})
            if "pve-no-subscription" in r["Components"] and r["Enabled"]:
                infos.append({"path": f["path"], "index": str(i), "kind": "origin", "message": "Proxmox"})
                infos.append({"path": f["path"], "index": str(i), "kind": "warning", "property": "Components",
                              "message": "The no-subscription repository is not recommended for production use"})
    standard = [{"handle": "enterprise", "name": "Enterprise", "status": trap},
                {"handle": "no-subscription", "name": "No-Subscription", "status": not trap},
                {"handle": "test", "name": "Test"},
                {"handle": "ceph-reef-no-subscription", "name": "Ceph Reef No-Subscription", "status": True}]
    digest = hashlib.sha256(repr(files).encode()).hexdigest()
    return {"files": files, "errors": [], "infos": infos, "standard-repos": standard, "digest": digest}


def inject(world, node: str) -> None:
    if node not in world.nodes:
        from console.sim.sim_errors import SimError

        raise SimError(404, f"fault {TRAP_FAULT}: no node named {node!r} (known: {', '.join(world.nodes)})")
    trapped(world).add(node)


def clear(world, node: str | None) -> None:
    trapped(world).discard(node) if node else trapped(world).clear()
