"""A node's software: versions, subscription status and its APT repositories
with their problems.

The classic homelab trap is named here, once: the pve-enterprise (or a Ceph
enterprise) repository enabled on a node without an active subscription makes
every `apt update` fail with 401 Unauthorized. `repo_problems` finds it (and
PVE's own warnings about the repositories); the health rule
(console/health_repos.py) and the maintenance preflight use the same function.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from console.errors import ConsoleError
from console.inert import inert
from console.ops.common import pve

FIX_ENTERPRISE = ("disable the enterprise repository (Node > Updates > Repositories in the web UI, or comment "
                  "out its line in {path}) and enable pve-no-subscription, or add a subscription key")


@dataclass(frozen=True)
class Repo:
    path: str
    index: int
    uris: tuple[str, ...]
    suites: tuple[str, ...]
    components: tuple[str, ...]
    enabled: bool

    @property
    def enterprise(self) -> bool:
        return any("enterprise.proxmox.com" in u for u in self.uris)

    @property
    def line(self) -> str:
        return f"{' '.join(self.uris)} {' '.join(self.suites)} {' '.join(self.components)}".strip()


KERNEL_PACKAGE = re.compile(r"^(?:proxmox|pve)-kernel-(\d+(?:\.\d+)*-\d+-pve)(?:-signed)?$")


def newest_kernel(versions: list) -> str:
    """The newest kernel release installed, from /nodes/{n}/apt/versions ("" when none is listed)."""
    found = [m.group(1) for v in versions if isinstance(v, dict)
             for m in [KERNEL_PACKAGE.match(str(v.get("Package", "")))] if m]
    return inert(max(found, key=lambda r: tuple(int(x) for x in re.findall(r"\d+", r)), default=""))


@dataclass(frozen=True)
class RepoProblem:
    severity: str  # critical | warning | info
    text: str
    fix: str = ""


@dataclass
class NodeSoftware:
    node: str
    pve_version: str = ""
    kernel: str = ""
    kernel_installed: str = ""  # the newest kernel package installed: booted after the next reboot
    subscription: str = "unknown"  # PVE's status: new notfound active invalid expired suspended
    subscription_level: str = ""
    subscription_message: str = ""
    next_due: str = ""
    repos: list[Repo] = field(default_factory=list)
    problems: list[RepoProblem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # what could not be read

    def to_dict(self) -> dict:
        return asdict(self)


def parse_repos(data: dict) -> tuple[list[Repo], list[tuple[str, int, str, str]]]:
    """(repos, infos as (path, index, kind, message)) from /nodes/{n}/apt/repositories."""
    repos: list[Repo] = []
    for f in data.get("files") or []:
        if not isinstance(f, dict):
            continue
        path = inert(f.get("path", "?"))
        for i, r in enumerate(f.get("repositories") or []):
            if not isinstance(r, dict):
                continue
            repos.append(Repo(path, i, tuple(inert(u) for u in r.get("URIs") or []),
                              tuple(inert(s) for s in r.get("Suites") or []),
                              tuple(inert(c) for c in r.get("Components") or []), bool(r.get("Enabled"))))
    infos = []
    for info in data.get("infos") or []:
        if isinstance(info, dict):
            try:
                index = int(info.get("index", -1))
            except (TypeError, ValueError):
                index = -1
            infos.append((inert(info.get("path", "")), index, inert(info.get("kind", "")),
                          inert(info.get("message", ""))))
    return repos, infos


def repo_problems(node: str, repos: list[Repo], subscription: str,
                  infos: list[tuple[str, int, str, str]] = (), errors: list[str] = ()) -> list[RepoProblem]:
    out: list[RepoProblem] = []
    if subscription != "active":
        for r in repos:
            if r.enabled and r.enterprise:
                out.append(RepoProblem(
                    "critical", f"{node}: enterprise repository enabled without an active subscription "
                    f"(status {subscription}): every apt update fails with 401 Unauthorized ({r.line})",
                    FIX_ENTERPRISE.format(path=r.path)))
    if repos and not out and not any(r.enabled and any("proxmox.com/debian/pve" in u for u in r.uris) and
                         not (r.enterprise and subscription != "active") for r in repos):
        out.append(RepoProblem("warning", f"{node}: no usable Proxmox VE repository enabled: no PVE updates",
                               "enable pve-no-subscription (or pve-enterprise with a subscription)"))
    for path, index, kind, message in infos:
        if kind == "warning":
            out.append(RepoProblem("info", f"{node}: {path} #{index + 1}: {message}"))
    for e in errors:
        out.append(RepoProblem("warning", f"{node}: repository file problem: {e}"))
    return out


async def node_software(sources: Any, node: str) -> NodeSoftware:
    ops = pve(sources)
    out = NodeSoftware(node)
    version, sub, repos, versions = await asyncio.gather(
        ops.node_version(node), ops.subscription(node), ops.apt_repositories(node), ops.apt_versions(node),
        return_exceptions=True)
    for what, got in (("version", version), ("subscription", sub), ("repositories", repos), ("packages", versions)):
        if isinstance(got, ConsoleError):
            out.errors.append(f"{what}: {got.message}")
        elif isinstance(got, BaseException):
            raise got
    if isinstance(version, dict):
        out.pve_version = inert(version.get("version", ""))
    if isinstance(versions, list):
        mgr = next((v for v in versions if isinstance(v, dict) and v.get("Package") == "pve-manager"), {})
        out.kernel = inert(mgr.get("RunningKernel", ""))
        out.kernel_installed = newest_kernel(versions)
        out.pve_version = out.pve_version or inert(mgr.get("Version", ""))
    if isinstance(sub, dict):  # the key and server id are not shown
        out.subscription = inert(sub.get("status", "unknown"))
        out.subscription_level = inert(sub.get("level", ""))
        out.subscription_message = inert(sub.get("message", ""))
        out.next_due = inert(sub.get("nextduedate", ""))
    infos: list = []
    if isinstance(repos, dict):
        out.repos, infos = parse_repos(repos)
        errors = [f"{inert(e.get('path', '?'))}: {inert(e.get('error', ''))}" for e in repos.get("errors") or []
                  if isinstance(e, dict)]
    else:
        errors = []
    if isinstance(repos, dict) and isinstance(sub, dict):
        out.problems = repo_problems(node, out.repos, out.subscription, infos, errors)
    return out


@dataclass
class RepoReport:
    """Every online node's software: what the health rule `repos` reads."""

    nodes: list[NodeSoftware] = field(default_factory=list)


async def repo_report(sources: Any) -> RepoReport:
    from console.ops.guests import list_nodes

    nodes = [n.name for n in await list_nodes(sources) if n.online]
    return RepoReport(list(await asyncio.gather(*(node_software(sources, n) for n in nodes))))


async def repo_preflight(proxmox: Any, node: str) -> str | None:
    """The maintenance preflight line: why an upgrade of `node` cannot fetch packages, with the fix."""
    from console.sources.proxmox_ops import ProxmoxOps

    if not isinstance(proxmox, ProxmoxOps) and not hasattr(proxmox, "_aget"):
        return None  # a source without the HTTP API (a test double): nothing to read
    ops = proxmox if isinstance(proxmox, ProxmoxOps) else ProxmoxOps(proxmox)
    try:
        sub, data = await asyncio.gather(ops.subscription(node), ops.apt_repositories(node))
    except ConsoleError:
        return None  # not readable (older PVE, no privilege): P8's apt update will tell
    repos, _ = parse_repos(data)
    bad = [p for p in repo_problems(node, repos, inert(sub.get("status", "unknown"))) if p.severity == "critical"]
    return f"{bad[0].text}; fix: {bad[0].fix}" if bad else None
