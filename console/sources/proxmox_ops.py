"""Proxmox VE calls of the operations layer (issue 11): snapshots, reboot,
guest config, migrate preconditions, HA migrate, storages and backups,
vzdump, the cluster task list and log.

Thin: the transport, endpoint failover, error wording and the read-only
refusal are ProxmoxSource's (`_aget`, `_write`); every write here is recorded
in the console's command log. Answers come back as PVE sends them: the ops
modules make the text inert and build typed results.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from console.errors import ConsoleError
from console.ops.command_log import recorded

KINDS = ("qemu", "lxc")


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ConsoleError("proxmox", f"unknown guest type {kind!r}", "qemu or lxc")
    return kind


class ProxmoxOps:
    """The operations endpoints on top of one ProxmoxSource."""

    def __init__(self, source: Any):
        self.src = source

    @property
    def read_only(self) -> bool:
        return bool(self.src.read_only)

    async def _get(self, path: str, **params: Any) -> Any:
        return await self.src._aget(path, **params)

    async def _write(self, action: str, target: str, method: str, path: str, /, **params: Any) -> str:
        """A mutating call: refused read-only (by the source), recorded in the command log."""
        async with recorded("api", f"{method.upper()} {path}", target, action) as rec:
            data = await self.src._write(action, method, path, **params)
            rec.result = "" if data is None else str(data)
        return "" if data is None else str(data)

    # ---------------------------------------------------------------- reads
    async def nodes(self) -> list[dict]:
        return _list(await self._get("nodes"))

    async def resources(self, kind: str | None = "vm") -> list[dict]:
        return _list(await self._get("cluster/resources", **({"type": kind} if kind else {})))

    async def migrate_preconditions(self, node: str, kind: str, vmid: int, target: str | None = None) -> dict:
        extra = {"target": target} if target else {}
        return _dict(await self._get(f"nodes/{node}/{_kind(kind)}/{vmid}/migrate", **extra))

    async def guest_config(self, node: str, kind: str, vmid: int) -> dict:
        return _dict(await self._get(f"nodes/{node}/{_kind(kind)}/{vmid}/config"))

    async def guest_interfaces(self, node: str, kind: str, vmid: int) -> list[dict]:
        """A VM's addresses from its guest agent, a CT's from its interfaces (h-guestui: the detail pane)."""
        if _kind(kind) == "qemu":
            data = _dict(await self._get(f"nodes/{node}/qemu/{vmid}/agent/network-get-interfaces"))
            return _list(data.get("result"))
        return _list(await self._get(f"nodes/{node}/lxc/{vmid}/interfaces"))

    async def guest_status(self, node: str, kind: str, vmid: int) -> dict:
        return _dict(await self._get(f"nodes/{node}/{_kind(kind)}/{vmid}/status/current"))

    async def ha_resources(self) -> list[dict]:
        return _list(await self._get("cluster/ha/resources"))

    async def snapshots(self, node: str, kind: str, vmid: int) -> list[dict]:
        return _list(await self._get(f"nodes/{node}/{_kind(kind)}/{vmid}/snapshot"))

    async def storages(self, node: str, content: str | None = None) -> list[dict]:
        return _list(await self._get(f"nodes/{node}/storage", **({"content": content} if content else {})))

    async def storage_content(self, node: str, storage: str, content: str = "backup") -> list[dict]:
        return _list(await self._get(f"nodes/{node}/storage/{quote(storage, safe='')}/content", content=content))

    async def backup_jobs(self) -> list[dict]:
        return _list(await self._get("cluster/backup"))

    async def not_backed_up(self) -> list[dict]:
        return _list(await self._get("cluster/backup-info/not-backed-up"))

    async def cluster_tasks(self) -> list[dict]:
        return _list(await self._get("cluster/tasks"))

    async def cluster_log(self, limit: int = 50) -> list[dict]:
        return _list(await self._get("cluster/log", max=limit))

    async def replication_jobs(self) -> list[dict]:
        return _list(await self._get("cluster/replication"))

    # h-operate2: node software (console/ops/node_detail.py)
    async def node_version(self, node: str) -> dict:
        return _dict(await self._get(f"nodes/{node}/version"))

    async def subscription(self, node: str) -> dict:
        return _dict(await self._get(f"nodes/{node}/subscription"))

    async def apt_repositories(self, node: str) -> dict:
        return _dict(await self._get(f"nodes/{node}/apt/repositories"))

    async def apt_versions(self, node: str) -> list[dict]:
        return _list(await self._get(f"nodes/{node}/apt/versions"))

    async def task_status(self, node: str, upid: str) -> dict:
        return await self.src.task_status(node, upid)

    async def task_log(self, node: str, upid: str, start: int = 0) -> list[str]:
        return await self.src.task_log(node, upid, start=start)

    # --------------------------------------------------------------- writes
    async def power(self, node: str, kind: str, vmid: int, action: str, timeout: int | None = None) -> str:
        if action not in ("start", "shutdown", "reboot", "stop"):
            raise ConsoleError("proxmox", f"unknown power action {action!r}")
        extra = {"timeout": int(timeout)} if timeout is not None and action in ("shutdown", "reboot") else {}
        return await self._write(f"{action} {kind}/{vmid}", str(vmid), "post",
                                 f"nodes/{node}/{_kind(kind)}/{vmid}/status/{action}", **extra)

    async def migrate(self, node: str, kind: str, vmid: int, target: str, online: bool, restart: bool) -> str:
        params: dict[str, Any] = {"target": target}
        if kind == "qemu" and online:
            params["online"] = 1
        if kind == "lxc" and restart:
            params["restart"] = 1
        return await self._write(f"migrate {kind}/{vmid} to {target}", str(vmid), "post",
                                 f"nodes/{node}/{_kind(kind)}/{vmid}/migrate", **params)

    async def ha_migrate(self, sid: str, target: str) -> dict:
        data = await self._write(f"HA migrate {sid} to {target}", sid, "post",
                                 f"cluster/ha/resources/{sid}/migrate", node=target)
        return {"sid": sid, "requested-node": target, "answer": data}

    async def snapshot_create(self, node: str, kind: str, vmid: int, name: str, description: str = "",
                              vmstate: bool = False) -> str:
        params: dict[str, Any] = {"snapname": name}
        if description:
            params["description"] = description
        if vmstate and kind == "qemu":
            params["vmstate"] = 1
        return await self._write(f"snapshot {kind}/{vmid} as {name}", str(vmid), "post",
                                 f"nodes/{node}/{_kind(kind)}/{vmid}/snapshot", **params)

    async def snapshot_delete(self, node: str, kind: str, vmid: int, name: str) -> str:
        return await self._write(f"delete snapshot {name} of {kind}/{vmid}", str(vmid), "delete",
                                 f"nodes/{node}/{_kind(kind)}/{vmid}/snapshot/{quote(name, safe='')}")

    async def snapshot_rollback(self, node: str, kind: str, vmid: int, name: str, start: bool = False) -> str:
        extra = {"start": 1} if start else {}
        return await self._write(f"roll {kind}/{vmid} back to {name}", str(vmid), "post",
                                 f"nodes/{node}/{_kind(kind)}/{vmid}/snapshot/{quote(name, safe='')}/rollback", **extra)

    async def vzdump(self, node: str, vmid: int, storage: str, mode: str = "snapshot") -> str:
        return await self._write(f"back up {vmid} to {storage}", str(vmid), "post", f"nodes/{node}/vzdump",
                                 vmid=str(vmid), storage=storage, mode=mode)


def _list(data: Any) -> list[dict]:
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def _dict(data: Any) -> dict:
    return data if isinstance(data, dict) else {}
