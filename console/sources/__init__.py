"""One source per layer; `build_hub` wires a cluster's configured sources to pollers.

Heavy client libraries are imported inside the source modules' methods, so
importing this package stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from console.config_model import ClusterConfig
from console.layers import SOURCE_BY_NAME
from console.poller import SOURCES, Hub, Poller

if TYPE_CHECKING:
    from console.actions import Actions


@dataclass
class Sources:
    """The live source objects of one cluster (reads and guarded writes)."""

    cluster: ClusterConfig
    read_only: bool
    ssh: Any = None  # console.ssh.SshPool
    by_name: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        return self.by_name.get(name)

    async def close(self) -> None:
        """Close every source (console/sources/base.py: Source), then the shared SSH pool.
        One failing close does not keep the others open; the first failure is raised at the end."""
        failure: BaseException | None = None
        for src in list(self.by_name.values()):
            try:
                await src.close()
            except Exception as exc:  # noqa: BLE001 - close the rest first
                failure = failure or exc
        if self.ssh is not None:
            await self.ssh.close()
        if failure is not None:
            raise failure


def build_sources(cluster: ClusterConfig, read_only: bool = False) -> Sources:
    from console.ssh import SshPool

    ro = read_only or cluster.read_only
    if not ro:
        from console.ops.command_log import set_cluster

        set_cluster(cluster.name)  # the command log names the cluster each write went to
    srcs = Sources(cluster, ro, ssh=SshPool(cluster.ssh))
    if cluster.proxmox is not None:
        from console.sources.proxmox import ProxmoxSource

        srcs.by_name["proxmox"] = ProxmoxSource(cluster.proxmox, read_only=ro)
    if cluster.ceph is not None or cluster.proxmox is not None:
        from console.config_model import CephConfig
        from console.sources.ceph import CephSource

        srcs.by_name["ceph"] = CephSource(cluster.ceph or CephConfig(), srcs.by_name.get("proxmox"), srcs.ssh,
                                          read_only=ro)
    if cluster.swarm is not None:
        from console.sources.swarm import SwarmSource

        srcs.by_name["swarm"] = SwarmSource(cluster.swarm, srcs.ssh, read_only=ro, cluster_name=cluster.name)
    if cluster.traefik is not None:
        from console.sources.traefik import TraefikSource

        srcs.by_name["traefik"] = TraefikSource(cluster.traefik)
    if cluster.vrrp is not None:
        from console.sources.vrrp import VrrpSource

        srcs.by_name["vrrp"] = VrrpSource(cluster.vrrp, srcs.ssh, read_only=ro, cluster_name=cluster.name)
    return srcs


def _timing(cluster: ClusterConfig, name: str) -> tuple[float, float]:
    layer = getattr(cluster, SOURCE_BY_NAME[name].config_attr)
    if layer is None:
        return cluster.interval, cluster.timeout
    return getattr(layer, "interval", cluster.interval), getattr(layer, "timeout", cluster.timeout)


def build_hub(cluster: ClusterConfig, read_only: bool = False) -> tuple[Hub, Actions]:
    """The Hub polling every configured source and the reports read through them
    (console/layers.py REPORTS), and the guarded Actions on them."""
    from console.actions import Actions

    srcs = build_sources(cluster, read_only)
    pollers = []
    for name in SOURCES:
        src = srcs.get(name)
        if src is None:
            continue
        interval, timeout = _timing(cluster, name)
        pollers.append(Poller(name, src.fetch, interval=interval, timeout=timeout))
    from console.sources.reports import report_pollers

    pollers += report_pollers(srcs, cluster, lambda name: _timing(cluster, name)[1])  # backups, repos: slow
    missing = tuple(n for n in SOURCES if srcs.get(n) is None)
    return Hub(pollers, unconfigured=missing), Actions(srcs)
