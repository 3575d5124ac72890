"""The maintenance lock held on the cluster itself, so that consoles on different
machines exclude each other (the local flock, journal.ClusterLock, covers one machine).

It uses the Proxmox cluster filesystem's own lock semantics, as PVE's cfs_lock
does: a directory under /etc/pve/priv/lock/ created with mkdir (atomic across
the cluster: it fails when the directory exists), refreshed by touching it while
held, and expired by pmxcfs once it has not been refreshed for 120 s; an
mtime-0 touch is cfs_lock's "unlock request" that makes pmxcfs drop an expired
lock. A holder file inside says who holds it (host, user, pid, run id, start).
All of it over SSH on whichever node answers first.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import os
import shlex
import socket
import time
from dataclasses import dataclass
from typing import Any

from console.errors import ConsoleError
from console.inert import cap
from console.maintenance.journal import ClusterLock

log = logging.getLogger(__name__)

LOCK_DIR = "/etc/pve/priv/lock/labconsole-maintenance"
HOLDER_FILE = f"{LOCK_DIR}/holder"
LOCK_TIMEOUT = 120.0  # pmxcfs: a lock not refreshed for this long is expired
REFRESH_EVERY = 30.0


@dataclass
class Holder:
    host: str
    user: str
    pid: int | None
    run: str | None
    started: float | None
    age: float | None  # seconds since the lock was last refreshed (the cluster's clock)

    def describe(self) -> str:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started)) if self.started else "?"
        text = f"{self.user}@{self.host} pid {self.pid if self.pid is not None else '?'}"
        text += f", run {self.run}" if self.run else ", run not started yet"
        text += f", since {since}"
        if self.age is not None:
            text += f", refreshed {self.age:.0f} s ago"
        return text


def parse_holder(text: str) -> Holder | None:
    """`cat HOLDER; stat -c %Y DIR; date +%s` -> who holds the lock and how fresh it is."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    age = None
    nums = [ln for ln in lines if ln.strip().isdigit()]
    if len(nums) >= 2:
        age = max(0.0, float(nums[-1]) - float(nums[-2]))
    info: dict[str, Any] = {}
    for ln in lines:
        if ln.lstrip().startswith("{"):
            try:
                data = json.loads(ln)
            except json.JSONDecodeError:
                continue
            if isinstance(data, dict):
                info = data
    if not info and age is None:
        return None

    def num(key: str) -> float | None:
        v = info.get(key)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    pid = num("pid")
    return Holder(cap(info.get("host") or "?", 80), cap(info.get("user") or "?", 40),
                  int(pid) if pid is not None else None, cap(info["run"], 80) if info.get("run") else None,
                  num("started"), age)


class ClusterDirLock:
    """The lock directory on the cluster, reached through `ssh` (a MaintenanceServices ssh)."""

    def __init__(self, ssh: Any, nodes: list[str], cluster: str, *, refresh_every: float = REFRESH_EVERY,
                 retry_pause: float = 1.0):
        self.ssh = ssh
        self.nodes = list(nodes)
        self.cluster = cluster
        self.refresh_every = refresh_every
        self.retry_pause = retry_pause
        self.held = False
        self.run: str | None = None
        self.started = time.time()
        self._refresher: asyncio.Task | None = None

    async def _sh(self, command: str):
        """Run on the first node that answers (the lock directory is the same on all of them)."""
        errors = []
        for node in self.nodes:
            try:
                return await self.ssh.run(node, command, timeout=30, privileged=True)  # /etc/pve/priv is root's
            except ConsoleError as exc:
                errors.append(f"{node}: {exc.message}")
        raise ConsoleError(f"maintenance lock on {self.cluster}", "no node answered over SSH to take the "
                           f"cluster lock ({'; '.join(errors) or 'no nodes'})", "check SSH to the nodes")

    async def holder(self) -> Holder | None:
        r = await self._sh(f"cat {HOLDER_FILE}; stat -c %Y {LOCK_DIR}; date +%s")
        return parse_holder(r.stdout)

    async def _mkdir(self) -> tuple[bool, str]:
        r = await self._sh(f"mkdir {LOCK_DIR}")
        err = (r.stderr or r.stdout or "").strip()
        return r.exit_status == 0, err

    async def acquire(self, run: str | None = None) -> None:
        ok, err = await self._mkdir()
        if not ok and "exists" in err:
            # cfs_lock's unlock request: pmxcfs drops the lock if its holder stopped refreshing it
            await self._sh(f"touch -m -d @0 {LOCK_DIR}")
            await asyncio.sleep(self.retry_pause)
            ok, err = await self._mkdir()
        if not ok and "exists" in err:
            h = await self.holder()
            if h is not None and died_here(h):
                # its console died on this machine (killed; the local flock went with it): take over
                log.warning("taking over the cluster maintenance lock of dead pid %s on this host", h.pid)
                await self._sh(f"rm -f {HOLDER_FILE}; rmdir {LOCK_DIR}")
                ok, err = await self._mkdir()
        if not ok:
            if "exists" not in err:
                raise ConsoleError(f"maintenance lock on {self.cluster}", f"cannot create {LOCK_DIR}: "
                                   f"{cap(err.splitlines()[-1] if err else 'no answer', 200)}")
            raise refused(self.cluster, await self.holder())
        self.held = True
        self.run = run
        await self._write_holder()
        self._refresher = asyncio.get_running_loop().create_task(self._refresh_loop())

    async def _write_holder(self) -> None:
        info = {"host": socket.gethostname(), "user": _user(), "pid": os.getpid(), "run": self.run,
                "started": round(self.started, 3)}
        await self._sh(f"echo {shlex.quote(json.dumps(info, sort_keys=True))} > {HOLDER_FILE}")

    async def note(self, run: str) -> None:
        """Record the run id once the journal exists (the lock stays held)."""
        self.run = run
        if self.held:
            await self._write_holder()

    async def refresh(self) -> None:
        await self._sh(f"touch {LOCK_DIR}")

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_every)
            try:
                await self.refresh()
            except ConsoleError as exc:  # the next refresh may get through; the run goes on
                log.warning("could not refresh the cluster maintenance lock: %s", exc)

    async def release(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            self._refresher = None
        if not self.held:
            return
        self.held = False
        try:
            await self._sh(f"rm -f {HOLDER_FILE}; rmdir {LOCK_DIR}")
        except ConsoleError as exc:
            log.warning("could not release the cluster maintenance lock (it expires in %.0f s): %s",
                        LOCK_TIMEOUT, exc)


def refused(cluster: str, h: Holder | None) -> ConsoleError:
    who = h.describe() if h else "a console that has not written its name yet"
    return ConsoleError(f"maintenance on {cluster}", f"already running: the cluster lock is held by {who}",
                        f"wait for it to finish; a holder that died loses the lock {LOCK_TIMEOUT:.0f} s "
                        "after its last refresh")


def died_here(h: Holder) -> bool:
    """The holder was a process on this machine that no longer exists."""
    if h.host != socket.gethostname() or not h.pid or h.pid == os.getpid():
        return False
    try:
        os.kill(h.pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, not ours to signal
        return False
    return False


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


class MaintenanceLock:
    """Both locks a maintenance run holds: the local flock (this machine) and the lock
    directory on the cluster (every machine). `svc` without SSH (test fakes) has the
    local lock only."""

    def __init__(self, cluster: str, svc: Any, nodes: list[str] | None = None):
        self.local = ClusterLock(cluster)
        ssh = getattr(svc, "ssh", None) if svc is not None else None
        self.remote = ClusterDirLock(ssh, nodes or [], cluster) if ssh is not None and nodes else None

    async def ensure_free(self) -> None:
        """Refuse early (before the plan is shown) when a run holds either lock; `acquire`
        decides for good."""
        if self.local.held():
            h = self.local.holder()
            raise ConsoleError(f"maintenance on {self.local.cluster}", "already running on this machine "
                               f"(pid {h.pid if h else '?'})", "wait for it to finish, or stop that console")
        if self.remote is not None:
            h = await self.remote.holder()
            if h is not None and not died_here(h) and (h.age is None or h.age <= LOCK_TIMEOUT):
                raise refused(self.remote.cluster, h)

    async def acquire(self, run: str | None = None) -> None:
        self.local.acquire(run)
        try:
            if self.remote is not None:
                await self.remote.acquire(run)
        except BaseException:
            self.local.release()
            raise

    async def note(self, run: str) -> None:
        self.local.note(run)
        if self.remote is not None:
            await self.remote.note(run)

    async def release(self) -> None:
        try:
            if self.remote is not None:
                await self.remote.release()
        finally:
            self.local.release()

    def release_soon(self) -> None:
        """Release from synchronous code on the event loop: the local lock now, the
        cluster's in a task (kept referenced until it is done)."""
        self.local.release()
        if self.remote is not None and self.remote.held:
            task = asyncio.get_running_loop().create_task(self.remote.release())
            _releasing.add(task)
            task.add_done_callback(_releasing.discard)


_releasing: set[asyncio.Task] = set()


async def online_nodes(svc: Any) -> list[str]:
    """Nodes to reach the cluster lock through: online ones first."""
    pve = await svc.pve()
    return [n.name for n in sorted(pve.nodes, key=lambda n: (n.status != "online", n.name))]
