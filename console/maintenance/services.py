"""What maintenance steps drive: the cluster's live sources, the plan, and waits.

Steps never talk to a protocol directly; they go through the same Sources
the console polls with, so the read-only guard and the error handling are
the same everywhere.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from console.config_model import ClusterConfig
from console.errors import ConsoleError, ReadOnlyError
from console.inert import cap
from console.maintenance.engine import StepContext, StepFailed
from console.maintenance.planner import Plan
from console.maintenance.remote_calls import JournaledSource, JournaledSsh, journal_only
from console.model import CephState, ProxmoxState, SwarmState, VrrpState
from console.ssh import SshResult

POLL_FIRST = 0.05  # first pause of a wait; later pauses grow with the time waited, up to `poll`
POLL_SHARE = 0.08  # a pause is at most this share of the time waited so far: a condition met is seen
# at most ~8 % late, on a wait of 1 s as on one of 10 min (doubling pauses could add up to 100 %); past
# `poll` / POLL_SHARE seconds (6 s by default) the pauses are `poll` long whatever the share
# How long each kind of wait may last, in seconds of the lab (scaled by `scale`).
# "reboot" and "migrate" default to the cluster's [maintenance] settings.
DEFAULT_TIMEOUTS = {"vip_move": 10.0, "swarm_drain": 120.0, "node_online": 120.0, "ceph_up": 300.0,
                    "pgs_clean": 600.0, "traefik": 120.0, "apt_update": 300.0, "apt_lock": 1800.0,
                    "api_errors": 60.0}  # a source failing without a break this long ends a wait
MAX_WAIT_LINES = 20  # distinct statuses one wait prints at most
READ_ATTEMPTS = 4  # a read that fails is tried again this many times in all (API errors are often transient)
SNAPSHOT_MAX_AGE = 30.0  # real seconds a preflight's reads may be shared; older ones are read again


@dataclass
class MaintenanceServices:
    cluster: ClusterConfig
    sources: Any  # console.sources.Sources
    plans: dict[str, Plan] = field(default_factory=dict)
    poll: float = 0.5  # longest pause between two checks while waiting (they start at POLL_FIRST)
    scale: float = 1.0  # multiply timeouts (tests against a fast sim use < 1)
    writable: bool = True  # False: planning only
    timeouts: dict[str, float] = field(default_factory=dict)  # overrides of DEFAULT_TIMEOUTS / reboot / migrate
    force_reboot: set[str] = field(default_factory=set)  # nodes drained for a reboot although nothing is pending
    accept_downtime: set[int] = field(default_factory=set)  # guests whose HA rules keep them on the node: accepted
    drain_only: set[str] = field(default_factory=set)  # nodes drained for hardware work, not upgraded
    rolling_run: tuple[list[str], list[str]] | None = None  # a rolling run's (order, nodes done): guests park
    snapshot: PreflightSnapshot | None = None  # the reads of the preflight under way (the plan's and its checks')
    downloads: dict[str, Any] = field(default_factory=dict)  # node -> its apt lists + archives (apt_download.py)

    def __post_init__(self) -> None:
        if self.writable and self.sources.read_only:
            raise ReadOnlyError("node maintenance", self.cluster.name)

    # ------------------------------------------------------------ sources
    def src(self, name: str) -> Any:
        s = self.sources.get(name)
        if s is None:
            raise ConsoleError(name, "not configured for this cluster")
        return JournaledSource(name, s)

    def has(self, name: str) -> bool:
        return self.sources.get(name) is not None

    @property
    def ssh(self) -> JournaledSsh:
        return JournaledSsh(self.sources.ssh)

    async def read(self, fn: Callable[[], Awaitable[Any]]) -> Any:
        """A read-only call, tried again on a ConsoleError (reads are idempotent; writes are not retried)."""
        pause = POLL_FIRST
        for attempt in range(1, READ_ATTEMPTS + 1):
            try:
                return await fn()
            except ConsoleError:
                if attempt == READ_ATTEMPTS:
                    raise
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.poll)

    async def ha_migrate(self, sid: str, target: str) -> None:
        """Ask the HA manager to move a resource (`POST /cluster/ha/resources/{sid}/migrate`;
        a container restarts to move). Journaled; recorded in the command log by the ops client."""
        from console.ops.common import pve

        async with journal_only(f"proxmox.ha_migrate({sid}, {target})"):
            await pve(self.sources).ha_migrate(sid, target)

    async def pve(self) -> ProxmoxState:
        return await self.read(self.src("proxmox").fetch)

    async def ceph(self) -> CephState:
        return await self.read(self.src("ceph").fetch)

    async def swarm(self) -> SwarmState:
        return await self.read(self.src("swarm").fetch)

    async def vrrp(self) -> VrrpState:
        return await self.read(self.src("vrrp").fetch)

    # ------------------------------------------------------------ one preflight, one read of the cluster
    def open_snapshot(self, node: str) -> PreflightSnapshot:
        """A preflight of `node` begins (its plan is made): the plan and the checks after it share
        one read of each layer instead of reading the whole cluster again for every check."""
        self.snapshot = PreflightSnapshot(node)
        return self.snapshot

    def close_snapshot(self) -> None:
        """The preflight is over (or a check failed: a retry must see the cluster as it is then)."""
        self.snapshot = None

    async def snap(self, node: str, key: str, read: Callable[[], Awaitable[Any]]) -> Any:
        """`read()` once per preflight of `node`: a fresh read outside one, or when the preflight's
        reads are older than SNAPSHOT_MAX_AGE."""
        snap = self.fresh_snapshot(node)
        if snap is None:
            return await read()
        if key not in snap.reads:
            snap.reads[key] = await read()
        value = snap.reads[key]
        return await value if isinstance(value, asyncio.Task) else value

    def fresh_snapshot(self, node: str) -> PreflightSnapshot | None:
        """The preflight's reads of `node`, unless there are none or they are older than SNAPSHOT_MAX_AGE."""
        snap = self.snapshot
        if snap is None or snap.node != node or time.monotonic() - snap.opened > SNAPSHOT_MAX_AGE:
            return None
        return snap

    def snapshot_age(self) -> float:
        return time.monotonic() - self.snapshot.opened if self.snapshot is not None else 0.0

    def read_early(self, node: str, key: str, read: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Start `read()` now, in the background, for the check that asks `snap(node, key)` later
        (a slow read the preflight only needs a few checks on). `read` must not raise."""
        snap = self.fresh_snapshot(node)
        if snap is not None and key not in snap.reads:
            snap.reads[key] = asyncio.get_running_loop().create_task(read())

    async def backup_warnings(self, node: str) -> list[str]:
        """P4's backup warnings for `node` (h-operate's, console/ops/backups.py), once per preflight
        (the plan starts the read: read_early)."""
        return list(await self.snap(node, "backups", lambda: self.read_backup_warnings(node)))

    async def read_backup_warnings(self, node: str) -> list[str]:
        from console.ops.backups import preflight_note  # warns, never blocks

        lines: list[str] = []
        try:
            await preflight_note(self.sources, node, self.cluster.max_backup_age, lines.append)
        except Exception as exc:  # noqa: BLE001 - a warning that cannot be made is said, never raised
            lines.append(f"warning: backups not checked: {type(exc).__name__}")
        return lines

    async def pve_snap(self, node: str) -> ProxmoxState:
        return await self.snap(node, "proxmox", self.pve)

    async def ceph_snap(self, node: str) -> CephState:
        return await self.snap(node, "ceph", self.ceph)

    async def swarm_snap(self, node: str) -> SwarmState:
        return await self.snap(node, "swarm", self.swarm)

    async def vrrp_snap(self, node: str) -> VrrpState:
        return await self.snap(node, "vrrp", self.vrrp)

    async def migrate_preconditions(self, node: str, vmid: int) -> dict:
        """`GET /nodes/{node}/qemu/{vmid}/migrate`, once per preflight (the plan reads it, P4 checks it)."""
        return await self.snap(node, f"migrate/{vmid}",
                               lambda: self.src("proxmox").migrate_preconditions(node, vmid))

    async def sh(self, node: str, command: str, timeout: float = 120.0, check: bool = True,
                 privileged: bool = False) -> SshResult:
        """Run a command on a PVE node over SSH (as root when privileged: console.ssh runs
        it through sudo for another user); a non-zero exit is a StepFailed."""
        r = await self.ssh.run(node, command, timeout=timeout, privileged=privileged)
        if check and r.exit_status != 0:
            err = (r.stderr or r.stdout).strip().splitlines()
            raise StepFailed(node, f"`{command}` exited {r.exit_status}: {err[-1] if err else 'no output'}")
        return r

    async def sh_cluster(self, command: str, avoid: str | None = None, check: bool = True,
                         privileged: bool = False) -> SshResult:
        """Run a cluster-wide command (ceph ...) on any node that answers, `avoid` (the node
        under maintenance, which may be rebooting) last."""
        pve = await self.pve_snap(avoid) if avoid else await self.pve()  # the snapshot only inside a preflight
        order = sorted(pve.nodes, key=lambda n: (n.name == avoid, n.status != "online", n.name))
        last: ConsoleError | None = None
        for n in order:
            try:
                return await self.sh(n.name, command, check=check, privileged=privileged)
            except StepFailed:
                raise
            except ConsoleError as exc:  # unreachable: the next node
                last = exc
        raise last or ConsoleError("maintenance", "no node to run the command on")

    async def ceph_over_ssh(self, node: str) -> bool:
        """Whether `ceph` can be run over SSH (set-group noout needs it; the API has only global flags)."""
        try:
            r = await self.sh_cluster("command -v ceph", avoid=node, check=False)
        except ConsoleError:
            return False
        return r.exit_status == 0 and bool(r.stdout.strip())

    def plan(self, node: str) -> Plan:
        p = self.plans.get(node)
        if p is None:
            raise ConsoleError("maintenance", f"no plan for {node}")
        return p

    def timeout(self, seconds: float) -> float:
        return seconds * self.scale

    def limit(self, name: str) -> float:
        """The (unscaled) timeout of one kind of wait."""
        if name in self.timeouts:
            return self.timeouts[name]
        if name == "reboot":
            return self.cluster.maintenance.reboot_timeout
        if name == "migrate":
            return self.cluster.maintenance.migrate_timeout
        return DEFAULT_TIMEOUTS[name]

    # ------------------------------------------------------------ waiting
    async def wait_for(self, ctx: StepContext, what: str, probe: Callable[[], Awaitable[str | None]],
                       timeout: float, errors_for: float | None = None) -> None:
        """Call `probe` until it returns None (done); it returns a status text while waiting.
        Source errors while waiting are reported, not fatal, unless they go on without a
        break for `errors_for` seconds (default: the "api_errors" limit; pass the timeout
        where errors are expected, e.g. while a node reboots).
        The first check is immediate; the pauses after it grow with the time waited
        (POLL_SHARE of it, from POLL_FIRST up to `poll`): quick conditions end quickly,
        a condition met is noticed soon after, and long waits do not hammer the cluster."""
        start = time.monotonic()
        deadline = start + self.timeout(timeout)
        errors_limit = self.timeout(self.limit("api_errors") if errors_for is None else errors_for)
        failing_since: float | None = None
        shown: set[str] = set()  # each status once: a condition flapping between two answers is not re-printed
        while True:
            try:
                status = await probe()
                failing_since = None
            except ConsoleError as exc:
                status = f"({exc.message})"
                now = time.monotonic()
                failing_since = now if failing_since is None else failing_since
                if now - failing_since > errors_limit:
                    raise StepFailed(ctx.step_id or "?", f"gave up waiting for {what}: {exc.message}",
                                     exc.hint) from None
            if status is None:
                return
            status = cap(status)
            if status not in shown and len(shown) < MAX_WAIT_LINES:
                ctx.progress(f"waiting: {cap(what)}: {status}")
                shown.add(status)
            if time.monotonic() > deadline:
                raise StepFailed(ctx.step_id or "?", f"timed out after {self.timeout(timeout):.0f} s waiting: "
                                 f"{what} ({status})")
            await asyncio.sleep(wait_pause(time.monotonic() - start, self.poll))

    async def wait_task(self, ctx: StepContext, node: str, upid: str, what: str, timeout: float) -> None:
        """Wait for a Proxmox task (its log lines become progress); a failed status read is not fatal."""
        pve = self.src("proxmox")
        seen = 0
        result: dict[str, str] = {}

        async def probe() -> str | None:
            nonlocal seen
            st = await pve.task_status(node, upid)
            lines = await pve.task_log(node, upid, start=seen)
            for line in lines:
                ctx.output(line)
            seen += len(lines)
            if st.get("status") == "stopped":
                result["exit"] = str(st.get("exitstatus", "unknown"))
                return None
            return "running"

        await self.wait_for(ctx, what, probe, timeout)
        if result.get("exit") != "OK":
            raise StepFailed(ctx.step_id or "?", f"{what}: task ended with {result.get('exit')!r}")


def wait_pause(waited: float, longest: float) -> float:
    """The pause before the next check of a wait that has lasted `waited` seconds."""
    return min(max(POLL_FIRST, waited * POLL_SHARE), longest)


@dataclass
class PreflightSnapshot:
    """The reads one preflight shares (layer or call -> its answer), and when it began."""

    node: str
    reads: dict[str, Any] = field(default_factory=dict)
    opened: float = field(default_factory=time.monotonic)
