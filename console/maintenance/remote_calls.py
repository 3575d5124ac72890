"""Journal every mutating remote call, before and after it (fsynced by Journal.append).

The engine sets `current_step` while a step applies or undoes; the wrappers
below write `call-start` / `call-done` / `call-failed` records around each
write a step sends through MaintenanceServices, so the journal says exactly
which remote change was in flight when a console died. Reads and waits are
not journaled (they change nothing and would flood the journal).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

current_step: ContextVar[tuple[Any, str, str] | None] = ContextVar("current_step", default=None)

# the write methods of each source (everything else on a source is a read)
WRITES = {
    "proxmox": {"migrate", "guest_power", "reboot", "apt_update", "set_ceph_flag"},
    "ceph": {"set_flag"},
    "swarm": {"node_availability", "service_update", "service_rollback"},
    "vrrp": {"set_track", "keepalived"},
}
READ_ONLY_COMMANDS = ("uname ", "uname", "dpkg-query ", "proxmox-boot-tool kernel list", "findmnt ", "hostname",
                      "cat ", "pveversion", "ha-manager status", "ceph status", "ceph health",
                      "command -v ", "needrestart -b")


def is_read_only_command(command: str) -> bool:
    return command.strip().startswith(READ_ONLY_COMMANDS)


@asynccontextmanager
async def journaled(call: str) -> AsyncIterator[None]:
    from console.ops.command_log import recorded, split_call  # h-operate: the console's command log

    async with recorded(*split_call(call)), journal_only(call):
        yield


@asynccontextmanager
async def journal_only(call: str) -> AsyncIterator[None]:
    """The call in the run's journal (a write the command log records already)."""
    here = current_step.get()
    if here is None:  # not inside a maintenance step (planning, tests of a single source)
        yield
        return
    journal, node, step = here
    journal.append("call-start", node=node, step=step, call=call)
    try:
        yield
    except BaseException as exc:
        journal.append("call-failed", node=node, step=step, call=call, error=f"{type(exc).__name__}: {exc}")
        raise
    journal.append("call-done", node=node, step=step, call=call)


class JournaledSource:
    """A source whose write methods are journaled; reads pass straight through."""

    def __init__(self, name: str, source: Any):
        self._name = name
        self._source = source

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._source, attr)
        if attr not in WRITES.get(self._name, ()) or not callable(value):
            return value

        async def call(*args: Any, **kwargs: Any) -> Any:
            shown = ", ".join([*map(str, args), *(f"{k}={v}" for k, v in kwargs.items())])
            async with journaled(f"{self._name}.{attr}({shown})"):
                return await value(*args, **kwargs)

        return call


class JournaledSsh:
    """The SSH pool with mutating commands journaled (run with a write, stream always)."""

    def __init__(self, pool: Any):
        self._pool = pool

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._pool, attr)

    async def run(self, alias: str, command: str, *args: Any, **kwargs: Any) -> Any:
        if is_read_only_command(command):
            return await self._pool.run(alias, command, *args, **kwargs)
        async with journaled(f"ssh {alias}: {command}"):
            return await self._pool.run(alias, command, *args, **kwargs)

    async def stream(self, alias: str, command: str, *args: Any, **kwargs: Any) -> Any:
        async with journaled(f"ssh {alias}: {command}"):
            return await self._pool.stream(alias, command, *args, **kwargs)
