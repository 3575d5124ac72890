"""Ceph source: read through the Proxmox API (default) or `ceph … -f json` over SSH.

Over SSH all read commands go in one batched session (SshPool.run_many) on the
first reachable host of `ceph.ssh_hosts`; the host that answered is tried
first next time. `ok-to-stop` has no API and always goes over SSH.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import time
from collections.abc import Iterable
from dataclasses import replace

from console.config_model import CephConfig
from console.errors import ConsoleError, ReadOnlyError
from console.model import CephState
from console.sources import ceph_parse as cp
from console.sources.shape import ShapeError
from console.ssh import SshPool, SshResult

log = logging.getLogger(__name__)

FLAGS = ("nobackfill", "nodeep-scrub", "nodown", "noin", "noout", "norebalance", "norecover",
         "noscrub", "notieragent", "noup", "pause")

# Read commands over SSH, run concurrently in one session. Every poll: status,
# health detail (which OSD/host is down), `osd tree` (hosts, up) and `osd dump`
# (flags, absent from Pacific's status; authoritative up/in; pool sizes).
# Slow-changing facts (usage, pools, mon names, active mgr) every SLOW_REFRESH s.
FAST_READS = (
    "ceph status -f json",
    "ceph health detail -f json",
    "ceph osd tree -f json",
    "ceph osd dump -f json",
)
SLOW_READS = (
    "ceph osd df -f json",
    "ceph df -f json",
    "ceph mon dump -f json",
    "ceph mgr stat -f json",
)
SLOW_REFRESH = 30.0


class CephSource:
    name = "ceph"

    def __init__(self, cfg: CephConfig, proxmox=None, ssh: SshPool | None = None, read_only: bool = False):
        self.cfg = cfg
        self.proxmox = proxmox
        self.ssh = ssh
        self.read_only = read_only
        self._host_index = 0
        self._slow: dict[str, object] = {}  # SLOW_READS command -> parsed JSON (or None)
        self._slow_at = -1e9
        self._tree_node: str | None = None  # the node whose OSD tree answered last (API mode)

    def _config_problem(self) -> ConsoleError | None:
        # Reported on every fetch rather than raised at construction, so one
        # misconfigured layer shows as that layer's error and the rest carries on.
        if self.cfg.via == "ssh" and (self.ssh is None or not self.cfg.ssh_hosts):
            return ConsoleError("ceph", "via = \"ssh\" needs ceph.ssh_hosts and the [ssh] settings",
                                "list the nodes that have the ceph CLI in ceph.ssh_hosts")
        if self.cfg.via != "ssh" and self.proxmox is None:
            return ConsoleError("ceph", "via = \"api\" needs a [proxmox] section",
                                "configure proxmox or set via = \"ssh\"")
        return None

    async def close(self) -> None:
        """Nothing of its own: the Proxmox source and the SSH pool it reads through are closed by their owner."""

    # ------------------------------------------------------------------ read

    async def fetch(self) -> CephState:
        problem = self._config_problem()
        if problem is not None:
            raise problem
        if self.cfg.via == "ssh":
            return await self._fetch_ssh()
        return await self._fetch_api()

    async def _fetch_api(self) -> CephState:
        # all three at once: a round costs the slowest request, not the sum
        status, tree, flags = await asyncio.gather(self.proxmox.ceph_status_raw(), self._api_osd_tree(),
                                                   self._api_flags(), return_exceptions=True)
        for result in (status, tree, flags):  # the status error first: it says the most
            if isinstance(result, BaseException):
                raise result
        node = self._tree_node
        lists: list = [None] * 4
        if node is not None:
            lists = await asyncio.gather(*(self.proxmox.ceph_list_raw(node, w) for w in ("pool", "mgr", "mds", "mon")),
                                         return_exceptions=True)
        # the parsing in a worker thread, never on the event loop
        return await asyncio.to_thread(_api_state, status, tree, flags, node, lists)

    async def _api_osd_tree(self):
        """The OSD tree is cluster-wide: ask the first online node that answers."""
        last: ConsoleError | None = None
        remembered = self._tree_node
        if remembered is not None:  # the node that answered last time: no /nodes round trip
            try:
                return cp.parse_pve_osd_tree(await self.proxmox.ceph_osd_raw(remembered),
                                             where=f"ceph /nodes/{remembered}/ceph/osd")
            except ConsoleError as exc:
                log.info("ceph: OSD tree via %s failed: %s", remembered, exc)
                self._tree_node = None
        for node in await self.proxmox.online_nodes():
            try:
                tree = cp.parse_pve_osd_tree(await self.proxmox.ceph_osd_raw(node),
                                             where=f"ceph /nodes/{node}/ceph/osd")
                self._tree_node = node
                return tree
            except ConsoleError as exc:
                log.info("ceph: OSD tree via %s failed: %s", node, exc)
                last = exc
        if last is not None:
            raise last
        raise ConsoleError("ceph", "no online node to read the OSD tree from (/nodes/NODE/ceph/osd)",
                           "check the Proxmox layer: every node is offline or unreachable")

    async def _api_flags(self) -> frozenset[str] | None:
        try:
            return frozenset(await self.proxmox.ceph_flags())
        except ConsoleError as exc:
            log.info("ceph: flags via API failed: %s", exc)
            return None

    async def _ssh_batch(self, commands: Iterable[str], timeout: float | None = None,
                         parallel: bool = False) -> tuple[str, list[SshResult]]:
        hosts = self.cfg.ssh_hosts
        if self.ssh is None or not hosts:
            raise ConsoleError("ceph", "this needs SSH to a Ceph node", "set ceph.ssh_hosts and the [ssh] settings")
        errors: list[ConsoleError] = []
        for k in range(len(hosts)):
            i = (self._host_index + k) % len(hosts)
            try:
                results = await self.ssh.run_many(hosts[i], list(commands), timeout=timeout or self.cfg.timeout,
                                                  parallel=parallel, privileged=True)  # the admin keyring is root's
            except ConsoleError as exc:
                errors.append(exc)
                continue
            self._host_index = i
            return hosts[i], results
        if len(errors) == 1:
            raise errors[0]
        raise ConsoleError("ceph", "no ceph.ssh_hosts reachable: " + "; ".join(str(e) for e in errors),
                           "check SSH to the nodes")

    async def _fetch_ssh(self) -> CephState:
        now = time.monotonic()
        slow_due = now - self._slow_at >= SLOW_REFRESH
        commands = FAST_READS + (SLOW_READS if slow_due else ())
        host, results = await self._ssh_batch(commands, parallel=True)
        # the JSON decoding and parsing in a worker thread, never on the event loop
        state, slow = await asyncio.to_thread(_ssh_state, host, commands, results, slow_due, self._slow)
        if slow_due:
            self._slow, self._slow_at = slow, now
        return state

    # ----------------------------------------------------------------- write

    async def ok_to_stop(self, kind: str, ids: Iterable[int | str]) -> tuple[bool, dict | str]:
        """`ceph {osd|mon|mds} ok-to-stop IDS`: (safe, ceph's JSON or text).
        Read-only: allowed in read-only mode."""
        if kind not in ("osd", "mon", "mds"):
            raise ConsoleError("ceph", f"ok-to-stop: unknown daemon kind {kind!r}", "osd, mon or mds")
        args = " ".join(shlex.quote(str(i)) for i in ids)
        cmd = f"ceph {kind} ok-to-stop {args} -f json"
        host, (r,) = await self._ssh_batch([cmd])
        if r.exit_status not in (0, 16) and not r.stdout.strip().startswith("{"):
            err = (r.stderr.strip() or r.stdout.strip()).splitlines()
            raise ConsoleError("ceph",
                               f"`{cmd}` on {host} exited {r.exit_status}" + (f": {err[-1][:200]}" if err else ""),
                               "check the ids and that the ceph CLI works there")
        return cp.parse_ok_to_stop(r.stdout, r.stderr, r.exit_status)

    async def set_flag(self, flag: str, on: bool) -> None:
        if flag not in FLAGS:
            raise ConsoleError("ceph", f"unknown flag {flag!r}", "one of " + ", ".join(FLAGS))
        if self.read_only:
            raise ReadOnlyError(f"{'set' if on else 'unset'} ceph flag {flag}", "ceph")
        if self.cfg.via != "ssh" and self.proxmox is not None:
            await self.proxmox.set_ceph_flag(flag, on)
            return
        cmd = f"ceph osd {'set' if on else 'unset'} {flag}"
        host, (r,) = await self._ssh_batch([cmd])
        if r.exit_status != 0:
            raise ConsoleError("ceph", f"`{cmd}` on {host} exited {r.exit_status}: {r.stderr.strip()[:200]}",
                               "check the ceph CLI's permissions there")


def _api_daemons(state: CephState, node: str | None, lists: list) -> CephState:
    """Pools and daemon names from PVE's per-node lists; optional (older PVE, or a node
    that does not answer): without them the status JSON's counts stand."""
    if node is None:
        return state
    pool, mgr, mds, mon = (None if isinstance(x, BaseException) else x for x in lists)
    try:
        extra = cp.parse_pve_daemons(mgr, mds, mon, where=f"ceph /nodes/{node}/ceph/mgr|mds|mon")
        if pool:
            extra["pools"] = cp.parse_pve_pools(pool, where=f"ceph /nodes/{node}/ceph/pool")
    except ShapeError as exc:  # optional facts: the status JSON's counts stand
        log.info("%s", exc)
        return state
    return replace(state, **extra) if extra else state


def _api_state(status, tree, flags, node: str | None, lists: list) -> CephState:
    """Blocking (a worker thread): the layer's state from the API answers of one poll."""
    state = cp.parse_status(status, where="ceph /cluster/ceph/status")
    osds, tree_flags = tree
    all_flags = state.flags | tree_flags | (flags if flags is not None else frozenset())
    return _api_daemons(replace(state, osds=osds, flags=all_flags), node, lists)


def _ssh_state(host: str, commands: tuple[str, ...], results: list[SshResult], slow_due: bool,
               slow: dict[str, object]) -> tuple[CephState, dict[str, object]]:
    """Blocking (a worker thread): the layer's state from one batch of `ceph` commands, and the
    slow reads (re-parsed when they were due, else the ones given)."""
    out = dict(zip(commands, results, strict=True))

    def on(cmd: str) -> str:
        return f"ceph `{cmd}` on {host}"

    def json_of(cmd: str, required: bool = False):
        """The command's JSON; None when it failed, unless the layer needs it (then its error)."""
        r = out.get(cmd)
        if r is None:
            return None
        if r.exit_status != 0:
            said = (r.stderr.strip() or r.stdout.strip()).splitlines()
            if required:
                raise ConsoleError("ceph", f"`{cmd}` on {host} exited {r.exit_status}"
                                   + (f": {said[-1][:200]}" if said else ""))
            log.info("ceph: `%s` on %s exited %d: %s", cmd, host, r.exit_status, r.stderr.strip()[:200])
            return None
        try:
            return cp.loads(r.stdout, f"ceph `{cmd}` on {host}")
        except cp.CephParseError as exc:
            if required:
                raise
            log.info("%s", exc)
            return None

    first = out[FAST_READS[0]]
    if first.exit_status != 0:
        err = (first.stderr.strip() or first.stdout.strip()).splitlines()
        raise ConsoleError("ceph", f"`{FAST_READS[0]}` on {host} exited {first.exit_status}"
                           + (f": {err[-1][:200]}" if err else ""),
                           "check that the ceph CLI on that host can reach the cluster (ceph.conf, keyring)")
    where = f"ceph `{FAST_READS[0]}` on {host}"
    state = cp.parse_status(cp.loads(first.stdout, where), where=where)
    if slow_due:
        slow = {cmd: json_of(cmd) for cmd in SLOW_READS}
    detail = json_of(FAST_READS[1])
    if detail is not None:
        state = cp.with_health_detail(state, cp.parse_health_detail(detail, where=on(FAST_READS[1])))
    osds = cp.parse_osd_tree(json_of(FAST_READS[2], required=True), where=on(FAST_READS[2]))
    usage = slow.get(SLOW_READS[0])
    if usage is not None:
        osds = cp.merge_osd_usage(osds, cp.parse_osd_tree(usage, where=on(SLOW_READS[0])))
    dump = json_of(FAST_READS[3])
    flags, sizes = state.flags, {}
    if dump is not None:
        osds, dump_flags, sizes = cp.merge_osd_dump(osds, dump, where=on(FAST_READS[3]))
        flags = flags | dump_flags
    df, mons, mgr = (slow.get(c) for c in SLOW_READS[1:])
    return replace(
        state, osds=osds, flags=flags,
        pools=cp.parse_df_pools(df, sizes, where=on(SLOW_READS[1])) if df is not None else (),
        mons=(cp.parse_mon_dump(mons, where=on(SLOW_READS[2])) if mons is not None else ()) or state.mons,
        mgr_active=state.mgr_active
        or (cp.parse_mgr_stat(mgr, where=on(SLOW_READS[3])) if mgr is not None else None)), slow

