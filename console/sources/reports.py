"""The slow reports (console/layers.py REPORTS) as pollers: backups and APT repositories.

They are read through the Proxmox source like the operations are (console.ops),
but on the Hub like every other source, so that their findings reach Health,
the incidents, the header and `check` through the one evaluation
(console/health.py RULES["backups"], RULES["repos"]). Slow: the backup report
reads every backup storage and the first log line of the recent vzdump tasks.
"""

from __future__ import annotations

from typing import Any

from console.config_model import ClusterConfig
from console.layers import REPORTS
from console.poller import Poller


async def fetch_backups(sources: Any, cluster: ClusterConfig) -> Any:
    """A console.ops.backups.BackupReport against the cluster's max_backup_age."""
    from console.ops.backups import backup_report

    return await backup_report(sources, cluster.max_backup_age)


async def fetch_repos(sources: Any, cluster: ClusterConfig) -> Any:
    """A console.ops.node_detail.RepoReport: every online node's repositories and subscription."""
    from console.ops.node_detail import repo_report

    return await repo_report(sources)


def report_pollers(sources: Any, cluster: ClusterConfig) -> list[Poller]:
    """One Poller per report whose source is configured (a cluster without Proxmox has none)."""
    pollers = []
    for spec in REPORTS:
        if sources.get(spec.needs) is None:
            continue
        fetch = spec.load_fetch()

        async def poll(fetch=fetch) -> Any:
            return await fetch(sources, cluster)

        pollers.append(Poller(spec.name, poll, interval=spec.interval, timeout=spec.timeout))
    return pollers
