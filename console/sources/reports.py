"""The slow reports (console/layers.py REPORTS) as pollers: backups and APT repositories,
and the round that reads them after the sources (`check`, the glance of other clusters).

They are read through the Proxmox source like the operations are (console.ops),
but on the Hub like every other source, so that their findings reach Health,
the incidents, the header and `check` through the one evaluation
(console/health.py RULES["backups"], RULES["repos"]). Slow: the backup report
reads every backup storage and the first log line of the recent vzdump tasks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from console.config_model import ClusterConfig
from console.errors import ConsoleError
from console.layers import REPORT_BY_NAME, REPORTS
from console.poller import Hub, Poller, Snapshot, ensure_thread_pool

log = logging.getLogger(__name__)


async def fetch_backups(sources: Any, cluster: ClusterConfig) -> Any:
    """A console.ops.backups.BackupReport against the cluster's max_backup_age."""
    from console.ops.backups import backup_report

    return await _readable("backups", backup_report(sources, cluster.max_backup_age))


async def fetch_repos(sources: Any, cluster: ClusterConfig) -> Any:
    """A console.ops.node_detail.RepoReport: every online node's repositories and subscription."""
    from console.ops.node_detail import repo_report

    return await _readable("repos", repo_report(sources))


async def _readable(name: str, report: Awaitable[Any]) -> Any:
    """An answer of a shape the report cannot read is said as such, not as a Python error."""
    try:
        return await report
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        log.debug("%s: unreadable answer", name, exc_info=exc)
        raise ConsoleError(name, "an answer of the Proxmox API has a shape the report cannot read; "
                           "not read this time") from None


def report_pollers(sources: Any, cluster: ClusterConfig, timeout_of: Callable[[str], float]) -> list[Poller]:
    """One Poller per report whose source is configured (a cluster without Proxmox has none),
    with its source's timeout."""
    pollers: list[Poller] = []
    for spec in REPORTS:
        if sources.get(spec.needs) is None:
            continue
        fetch = spec.load_fetch()

        async def poll(fetch=fetch) -> Any:
            return await fetch(sources, cluster)

        pollers.append(ReportPoller(spec.name, poll, interval=spec.interval, timeout=timeout_of(spec.needs)))
    return pollers


class ReportPoller(Poller):
    """A report's Poller in the live console: its first read waits FIRST_READ_AFTER seconds, so
    that the start-up reads of the sources (what the first screen shows) do not share the API
    and the CPU with it, unless asked for (poke). `check` calls poll_once itself, after the
    sources (console/check.py)."""

    FIRST_READ_AFTER = 5.0

    async def run(self, publish: Callable[[Any], Any]) -> None:
        try:  # poke() (ctrl+r, opening the Backups view) reads at once
            async with asyncio.timeout(self.FIRST_READ_AFTER):
                await self._wake.wait()
        except TimeoutError:
            pass
        await super().run(publish)


async def poll_round(hub: Hub) -> dict[str, Snapshot]:
    """One round as `check` and the glance of other clusters make it: every source at once, then
    the reports that are due (never read, or read an interval ago or longer), each only through a
    source that answered this round. After the sources: the reports do not load the API while
    the sources are read; and a source that did not answer is not asked again (its own finding
    says so; the report keeps what it had)."""
    ensure_thread_pool()
    sources = [p for name, p in hub.pollers.items() if name not in REPORT_BY_NAME]
    for snap in await asyncio.gather(*(p.poll_once() for p in sources)):
        hub.publish(snap)
    due = [p for name, p in hub.pollers.items() if name in REPORT_BY_NAME and _answered(hub, REPORT_BY_NAME[name].needs)
           and (p.latest.polled_at is None or p.clock() - p.latest.polled_at >= p.interval)]
    for snap in await asyncio.gather(*(p.poll_once() for p in due)):
        hub.publish(snap)
    return dict(hub.snapshots)


def _answered(hub: Hub, source: str) -> bool:
    snap = hub.snapshots.get(source)
    return snap is not None and snap.error is None and snap.data is not None
