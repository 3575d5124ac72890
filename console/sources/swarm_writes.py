"""The Swarm source's writes: node availability, service update and rollback.

Writes fail over only when a manager cannot be reached (SwarmSource._run with
write=True), so nothing is sent twice. Rollback uses the raw API
(`POST /services/{id}/update?rollback=previous`), which the SDK has no helper
for; it goes through the SDK's own request helpers (`_post_json`, `_url`,
`_result`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from console.errors import ConsoleError, ReadOnlyError
from console.inert import cap

AVAILABILITIES = ("active", "pause", "drain")


def check_availability(value: str) -> None:
    """ConsoleError unless `value` is a Swarm node availability."""
    if value not in AVAILABILITIES:
        raise ConsoleError("swarm", f"availability {cap(repr(value), 40)} is not one of {', '.join(AVAILABILITIES)}")


class SwarmWrites:
    """Mixed into SwarmSource, which provides read_only, cluster_name and _run."""

    read_only: bool
    cluster_name: str
    _run: Callable[..., Awaitable[tuple[Any, str]]]

    def _guard(self, action: str) -> None:
        if self.read_only:
            raise ReadOnlyError(action, self.cluster_name)

    async def node_availability(self, node: str, availability: str) -> None:
        """Set a node (id or hostname) to active, pause or drain."""
        check_availability(availability)
        self._guard(f"set swarm node {node} to {availability}")

        def update(api) -> None:
            raw = api.inspect_node(node)
            spec = dict(raw.get("Spec") or {})
            spec["Availability"] = availability
            api.update_node(raw["ID"], raw["Version"]["Index"], spec)

        async def op(api):
            await asyncio.to_thread(update, api)

        await self._run(op, write=True)

    async def service_update(self, service: str, *, image: str | None = None, replicas: int | None = None,
                             force: bool = False, update_config: dict | None = None,
                             rollback_config: dict | None = None) -> list[str]:
        """Change a service's image and/or replicas, or force a redeploy; returns the engine's warnings.
        update_config / rollback_config are merged into the spec's UpdateConfig / RollbackConfig."""
        if image is None and replicas is None and not force:
            raise ConsoleError("swarm", f"service {service}: nothing to update", "give image, replicas or force")
        self._guard(f"update swarm service {service}")

        def update(api) -> list[str]:
            raw = api.inspect_service(service)
            spec = _copy(raw.get("Spec") or {})
            template = spec.setdefault("TaskTemplate", {})
            if image is not None:
                template.setdefault("ContainerSpec", {})["Image"] = image
            if replicas is not None:
                replicated = (spec.get("Mode") or {}).get("Replicated")
                if replicated is None:
                    raise ConsoleError("swarm", f"service {service} is not replicated: replicas cannot be set")
                replicated["Replicas"] = int(replicas)
            if force:
                template["ForceUpdate"] = int(template.get("ForceUpdate") or 0) + 1
            for key, given in (("UpdateConfig", update_config), ("RollbackConfig", rollback_config)):
                if given:
                    spec[key] = {**(spec.get(key) or {}), **given}
            return _post_update(api, raw, spec, rollback=False)

        async def op(api):
            return await asyncio.to_thread(update, api)

        return (await self._run(op, write=True))[0]

    async def service_rollback(self, service: str) -> list[str]:
        """`docker service rollback`: back to the service's PreviousSpec."""
        self._guard(f"roll back swarm service {service}")

        def rollback(api) -> list[str]:
            raw = api.inspect_service(service)
            if not raw.get("PreviousSpec"):
                raise ConsoleError("swarm", f"service {service} has no previous version to roll back to")
            return _post_update(api, raw, raw.get("Spec") or {}, rollback=True)

        async def op(api):
            return await asyncio.to_thread(rollback, api)

        return (await self._run(op, write=True))[0]


def _post_update(api, raw: dict, spec: dict, rollback: bool) -> list[str]:
    params: dict[str, Any] = {"version": raw["Version"]["Index"]}
    if rollback:
        params["rollback"] = "previous"
    url = api._url("/services/{0}/update", raw["ID"])
    result = api._result(api._post_json(url, data=spec, params=params), json=True)
    return list((result or {}).get("Warnings") or [])


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
