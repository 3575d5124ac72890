"""All clusters at a glance: one row per configured cluster (verdict, layer dots, top incident,
data age or why it cannot be reached), for `:ctx` and `labconsole check --all-clusters`. No Textual.

A row says nothing of its own: it is read off the Story that `check` tells (console.check.story_of,
console.incidents.tell), so a cluster's verdict in the picker is the one its `check` prints.

The current cluster's row comes from the live Hub (the App's StoryKeeper). The others are polled
by ClusterGlance: their own Hub each, every configured source, one round every GLANCE_INTERVAL
seconds with the configured timeouts. It starts on the first `:ctx` (nobody pays for it who never
opens the picker) and then keeps going while the console runs, slowly, so the picker opens with
rows at most one interval old instead of a screen of "polling..." every time; `stop()` (quit)
closes every connection it opened. A switch of cluster swaps the sets: the new current cluster is
no longer polled here, the one left is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from console.config_model import ClusterConfig, Config
from console.errors import ConsoleError
from console.incidents import Story
from console.inert import cap, inert
from console.layers import LAYERS, REPORT_NAMES, SOURCES
from console.poller import Hub, Snapshot
from console.verdict import CRIT, OK, UNKNOWN, WARN, status_of

log = logging.getLogger(__name__)

GLANCE_INTERVAL = 30.0  # s between two rounds of another cluster (the live one polls every few s)
CLOSE_WAIT = 1.0  # s for closing a cluster's connections
REASON_CHARS = 160  # an error line is capped: a row is one line of a picker
LEVEL_OF_STATUS = {"ok": OK, "warning": WARN, "critical": CRIT, "unknown": UNKNOWN}
SEVERITY_LABEL = {"critical": "CRIT", "warning": "WARN", "unknown": "UNKN", "info": "INFO"}


@dataclass(frozen=True, slots=True)
class ClusterRow:
    name: str
    color: str
    status: str | None  # ok | warning | critical | unknown (console.verdict); None: first round not back
    layers: tuple[tuple[str, str], ...] = ()  # (layer, verdict level) in tile order
    top: str | None = None  # the top incident, one line: "CRIT [cluster] pve3 is offline (+7 effects)"
    top_severity: str | None = None
    data_at: float | None = None  # clock() of the oldest configured source's last good data
    error: str | None = None  # "cannot reach: ..." when no source answered
    current: bool = False

    def age(self, now: float) -> float | None:
        """Seconds since its data was read (grows between the glance's slow rounds)."""
        return None if self.data_at is None else max(0.0, now - self.data_at)

    @property
    def exit_code(self) -> int:
        return {"ok": 0, "warning": 1, "critical": 2}.get(self.status or "unknown", 3)


def waiting_row(cluster: ClusterConfig) -> ClusterRow:
    return ClusterRow(cluster.name, cluster.color, None)


def row_of(cluster: ClusterConfig, snaps: Mapping[str, Snapshot], story: Story, now: float,
           current: bool = False) -> ClusterRow:
    """The row of a cluster from the Story `check` tells of it."""
    from console.check import shown_incidents

    layers = tuple((spec.name, story.layers[spec.name].level) for spec in LAYERS if spec.name in story.layers)
    shown = shown_incidents(story)
    top = severity = None
    if shown:
        inc = shown[0]
        f = inc.root.finding
        more = f" (+{len(inc.effects)} effect{'s' if len(inc.effects) != 1 else ''})" if inc.effects else ""
        severity = inc.severity
        top = f"{SEVERITY_LABEL.get(severity, 'UNKN')} [{inert(f.layer)}] {inert(f.text)}{more}"
    configured = [s for s in snaps.values() if s.configured and s.source not in REPORT_NAMES]  # reports go through one
    read_at = [s.ok_at for s in configured if s.ok_at is not None]
    error = None
    if configured and all(s.data is None and s.error for s in configured):
        error = "cannot reach: " + cap(inert(_first_error(configured)), REASON_CHARS)
    return ClusterRow(cluster.name, cluster.color, story.status, layers, top, severity,
                      min(read_at) if read_at else None, error, current)


def _first_error(snaps: list[Snapshot]) -> str:
    """Proxmox's error first: it is the cluster's front door."""
    ordered = sorted(snaps, key=lambda s: s.source != "proxmox")
    return next(s.error for s in ordered if s.error)


def unreachable_snapshots(cluster: ClusterConfig, reason: str) -> dict[str, Snapshot]:
    """Snapshots saying that every configured source failed with `reason` (its sources could not
    even be built: an unreadable token file): the cluster is judged, and reported, as unreachable."""
    out: dict[str, Snapshot] = {}
    for spec in SOURCES:
        configured = getattr(cluster, spec.config_attr) is not None or (spec.name == "ceph" and
                                                                        cluster.proxmox is not None)
        out[spec.name] = Snapshot(spec.name, error=reason if configured else None, configured=configured)
    return out


def judge(cluster: str, snaps: Mapping[str, Snapshot], now: float) -> Story:
    """What `check` says of the cluster (its maintenance runs and silences included). Reads the
    state dir: call it in a thread from the event loop."""
    from console.check import story_of
    from console.health import evaluate

    snaps = dict(snaps)
    return story_of(cluster, snaps, evaluate(snaps, now), now)


def worst_status(statuses: Iterable[str | None]) -> str:
    """ok | warning | critical | unknown over clusters, as `check` ranks a cluster's layers."""
    return status_of(LEVEL_OF_STATUS.get(s or "unknown", UNKNOWN) for s in statuses)


HubFactory = Callable[[ClusterConfig], Any]  # -> (Hub, Actions) or a Hub, like the App's


async def _close(built: Any) -> None:
    hub, actions = built if isinstance(built, tuple) else (built, None)
    await hub.stop()
    sources = getattr(actions, "sources", None)
    if sources is None or not hasattr(sources, "close"):
        return
    try:  # best effort, bounded: a dead cluster must not hold up a switch or quit
        async with asyncio.timeout(CLOSE_WAIT):
            await sources.close()
    except Exception as exc:  # noqa: BLE001 - closing is best effort
        log.debug("closing %s: %s", getattr(sources.cluster, "name", "?"), exc)


class ClusterGlance:
    """Polls every configured cluster except the current one, slowly, and keeps its latest row."""

    def __init__(self, config: Config, hub_factory: HubFactory, interval: float = GLANCE_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.hub_factory = hub_factory
        self.interval = interval
        self.clock = clock
        self.rows: dict[str, ClusterRow] = {c.name: waiting_row(c) for c in config.clusters}
        self.rounds = 0  # rounds finished (all clusters), for tests and the benchmark
        self._tasks: dict[str, asyncio.Task] = {}
        self._built: dict[str, Any] = {}
        self._subscribers: list[Callable[[ClusterRow], Any]] = []
        self._closing: set[asyncio.Task] = set()  # closes of clusters no longer polled (held: not collected)

    def subscribe(self, callback: Callable[[ClusterRow], Any]) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    @property
    def polled(self) -> tuple[str, ...]:
        return tuple(self._tasks)

    def watch(self, current: str) -> None:
        """Poll every cluster but `current` (started at once; a running one goes on)."""
        for cluster in self.config.clusters:
            if cluster.name == current:
                self._forget(cluster.name)
            elif cluster.name not in self._tasks:
                self._tasks[cluster.name] = asyncio.create_task(self._run(cluster), name=f"glance-{cluster.name}")

    def _forget(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        if task is not None:
            task.cancel()
        built = self._built.pop(name, None)
        if built is not None:  # its connections go in the background: the switch goes on
            closing = asyncio.get_running_loop().create_task(_close(built))
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

    async def poll_cluster(self, cluster: ClusterConfig) -> ClusterRow:
        """One round of the cluster's sources, judged as `check` judges it."""
        from console.sources.reports import poll_round

        try:
            built = self._built.get(cluster.name)
            if built is None:
                built = self._built[cluster.name] = self.hub_factory(cluster)
            hub: Hub = built[0] if isinstance(built, tuple) else built
            snaps = await poll_round(hub)  # as check: the sources, then the slow reports when due
        except ConsoleError as exc:  # its sources cannot be built: say why, try again next round
            snaps = unreachable_snapshots(cluster, str(exc))
        now = self.clock()
        story = await asyncio.to_thread(judge, cluster.name, snaps, now)
        return row_of(cluster, snaps, story, now)

    async def _run(self, cluster: ClusterConfig) -> None:
        while True:
            try:
                row = await self.poll_cluster(cluster)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - one cluster's failure never ends the glance
                log.warning("glance of %s: %s", cluster.name, exc, exc_info=True)
                row = ClusterRow(cluster.name, cluster.color, "unknown", error=f"cannot judge: {exc}")
            self.rows[cluster.name] = row
            self.rounds += 1
            for callback in list(self._subscribers):
                try:
                    callback(row)
                except Exception:  # noqa: BLE001 - one bad subscriber must not stop the others
                    log.exception("glance subscriber failed")
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        """Stop every poll and close every connection the glance opened."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        built, self._built = list(self._built.values()), {}
        await asyncio.gather(*(_close(b) for b in built), *self._closing, return_exceptions=True)


async def all_clusters_round(config: Config, round_of: Callable[[ClusterConfig], Any] | None = None,
                             ) -> list[tuple[ClusterConfig, dict[str, Snapshot], float]]:
    """One concurrent round of every configured cluster (`check --all-clusters`): each cluster's
    sources with their own timeouts, so the whole round takes about the longest timeout.
    `round_of(cluster) -> (snapshots, findings, now)` is console.check.check_round."""
    from console.check import check_round

    round_of = round_of or check_round

    async def one(cluster: ClusterConfig) -> tuple[ClusterConfig, dict[str, Snapshot], float]:
        try:
            snaps, _, now = await round_of(cluster)
        except ConsoleError as exc:
            return cluster, unreachable_snapshots(cluster, str(exc)), time.monotonic()
        return cluster, snaps, now

    return list(await asyncio.gather(*(one(c) for c in config.clusters)))
