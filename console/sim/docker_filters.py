"""Docker's `filters` query parameter and the Swarm object lookups (id, prefix, name).

Semantics follow moby's daemon/cluster: name and id filters match prefixes,
`label` matches key or key=value, unknown filter keys are a 400
("invalid filter 'x'"), and an object reference resolves by exact ID, exact
name, then unique ID prefix.
"""

from __future__ import annotations

import json

from console.sim.docker_objects import node_labels, task_name


class DockerApiError(Exception):
    """Answered as {"message": ...} with this HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


NODE_FILTERS = {"id", "label", "name", "membership", "role", "node.label"}
SERVICE_FILTERS = {"id", "label", "name", "mode"}
TASK_FILTERS = {"id", "label", "name", "service", "node", "desired-state", "_up-to-date", "runtime"}


def parse_filters(raw: str | None, accepted: set[str]) -> dict[str, list[str]]:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise DockerApiError(400, f"invalid filter: {exc}") from None
    if not isinstance(data, dict):
        raise DockerApiError(400, "invalid filter: filters must be a JSON object")
    out: dict[str, list[str]] = {}
    for key, values in data.items():
        if isinstance(values, dict):  # {"name": {"web": true}} (current form)
            vals = [str(v) for v, on in values.items() if on]
        elif isinstance(values, list):  # {"name": ["web"]} (legacy form)
            vals = [str(v) for v in values]
        else:
            raise DockerApiError(400, f"invalid filter '{key}'")
        if key not in accepted:
            raise DockerApiError(400, f"invalid filter '{key}'")
        out[key] = vals
    return out


def _labels_match(labels: dict, wanted: list[str]) -> bool:
    for item in wanted:
        key, sep, value = item.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


def _prefix_any(value: str, prefixes: list[str]) -> bool:
    return any(value.startswith(p) for p in prefixes)


def filter_nodes(world, nodes, flt: dict[str, list[str]]):
    out = []
    for role in flt.get("role", []):
        if role not in ("manager", "worker"):
            raise DockerApiError(400, f"Invalid role filter: '{role}'")
    for n in nodes:
        if "id" in flt and not _prefix_any(n.id, flt["id"]):
            continue
        if "name" in flt and not _prefix_any(n.hostname, flt["name"]):
            continue
        if "role" in flt and n.role not in flt["role"]:
            continue
        if "membership" in flt and "accepted" not in flt["membership"]:
            continue
        if ("label" in flt
            or "node.label" in flt) and not _labels_match(node_labels(world, n),
                                                          flt.get("label", []) + flt.get("node.label", [])):
            continue
        out.append(n)
    return out


def filter_services(world, services, flt: dict[str, list[str]]):
    out = []
    for mode in flt.get("mode", []):
        if mode not in ("replicated", "global", "replicated-job", "global-job"):
            raise DockerApiError(400, f"Invalid filter: 'mode'='{mode}'")
    for s in services:
        if "id" in flt and not _prefix_any(s.id, flt["id"]):
            continue
        if "name" in flt and not _prefix_any(s.name, flt["name"]):
            continue
        if "mode" in flt and s.mode not in flt["mode"]:
            continue
        if "label" in flt and not _labels_match((s.spec or {}).get("Labels") or {}, flt["label"]):
            continue
        out.append(s)
    return out


def filter_tasks(world, tasks, flt: dict[str, list[str]], own_node_id: str):
    for state in flt.get("desired-state", []):
        if state not in ("running", "shutdown", "accepted"):
            raise DockerApiError(400, f"Invalid desired-state filter: '{state}'")
    service_ids = None
    if "service" in flt:  # moby resolves service names/prefixes to IDs first
        service_ids = {lookup_service(world, ref).id for ref in flt["service"]}
    node_ids = None
    if "node" in flt:
        node_ids = {own_node_id if ref == "self" else lookup_node(world, ref).id for ref in flt["node"]}
    out = []
    for t in tasks:
        if "id" in flt and not _prefix_any(t.id, flt["id"]):
            continue
        if "name" in flt and not _prefix_any(task_name(world, t), flt["name"]):
            continue
        if service_ids is not None and t.service_id not in service_ids:
            continue
        if node_ids is not None and t.node_id not in node_ids:
            continue
        if "desired-state" in flt and t.desired_state not in flt["desired-state"]:
            continue
        if "_up-to-date" in flt and not task_up_to_date(world, t):
            continue
        if "label" in flt and not _labels_match({}, flt["label"]):
            continue
        out.append(t)
    return out


def task_up_to_date(world, task) -> bool:
    """A task runs the service's current spec (what the CLI's progress monitor waits for)."""
    svc = world.services.get(task.service_id)
    if svc is None:
        return False
    return task.image == svc.image and task.desired_state == "running"


def _resolve(kind: str, ref: str, items, name_of):
    items = list(items)
    for it in items:
        if it.id == ref:
            return it
    by_name = [it for it in items if name_of(it) == ref]
    if len(by_name) == 1:
        return by_name[0]
    by_prefix = [it for it in items if it.id.startswith(ref)] if ref else []
    if len(by_prefix) == 1:
        return by_prefix[0]
    if len(by_prefix) > 1:
        raise DockerApiError(400, f"{kind} {ref} is ambiguous ({len(by_prefix)} matches found)")
    raise DockerApiError(404, f"{kind} {ref} not found")


def lookup_service(world, ref: str):
    return _resolve("service", ref, world.services.values(), lambda s: s.name)


def lookup_node(world, ref: str):
    return _resolve("node", ref, world.swarm_nodes.values(), lambda n: n.hostname)


def lookup_task(world, ref: str):
    return _resolve("task", ref, world.tasks.values(), lambda t: task_name(world, t))
