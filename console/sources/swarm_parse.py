"""Docker Engine API (Swarm) JSON -> SwarmNode / SwarmService / SwarmTask.

Shapes follow moby's api/swagger.yaml (Node, Service, Task). Unknown fields
are ignored and missing optional ones become None, so older and newer engines
parse alike.
"""

from __future__ import annotations

from typing import Any, Iterable

from console.model import SwarmNode, SwarmService, SwarmState, SwarmTask


def _d(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _version(obj: dict) -> int:
    try:
        return int(_d(obj.get("Version")).get("Index") or 0)
    except (TypeError, ValueError):
        return 0


def parse_node(raw: dict) -> SwarmNode:
    spec, desc, status = _d(raw.get("Spec")), _d(raw.get("Description")), _d(raw.get("Status"))
    manager = raw.get("ManagerStatus")
    manager = manager if isinstance(manager, dict) else None
    return SwarmNode(
        id=str(raw.get("ID", "")),
        hostname=str(desc.get("Hostname") or raw.get("ID", "")),
        role=str(spec.get("Role") or ("manager" if manager else "worker")),
        availability=str(spec.get("Availability") or "active"),
        state=str(status.get("State") or "unknown"),
        leader=bool(manager and manager.get("Leader")),
        reachability=manager.get("Reachability") if manager else None,
        engine_version=_d(desc.get("Engine")).get("EngineVersion"),
        addr=status.get("Addr") or (manager.get("Addr") if manager else None),
        version=_version(raw),
    )


def parse_task(raw: dict, node_names: dict[str, str] | None = None) -> SwarmTask:
    status = _d(raw.get("Status"))
    node_id = raw.get("NodeID") or None
    slot = raw.get("Slot")
    return SwarmTask(
        id=str(raw.get("ID", "")),
        service_id=str(raw.get("ServiceID", "")),
        node_id=node_id,
        state=str(status.get("State") or "unknown"),
        desired_state=str(raw.get("DesiredState") or "unknown"),
        slot=slot if isinstance(slot, int) else None,
        node_name=(node_names or {}).get(node_id) if node_id else None,
        error=status.get("Err") or None,
        message=status.get("Message") or None,
        timestamp=status.get("Timestamp"),
    )


def service_mode(spec: dict) -> str:
    mode = _d(spec.get("Mode"))
    for key, name in (("Replicated", "replicated"), ("Global", "global"),
                      ("ReplicatedJob", "replicated-job"), ("GlobalJob", "global-job")):
        if key in mode:
            return name
    return "replicated"


def parse_service(raw: dict, tasks: Iterable[SwarmTask] = (), down_nodes: frozenset[str] = frozenset()) -> SwarmService:
    """Running/desired are counted from the tasks the way `docker service ls`
    does (running tasks on nodes that are not down); ServiceStatus, when the
    engine sent it, is used only when no tasks were given."""
    spec = _d(raw.get("Spec"))
    mode = service_mode(spec)
    sid = str(raw.get("ID", ""))
    own = [t for t in tasks if t.service_id == sid]
    status = raw.get("ServiceStatus") if isinstance(raw.get("ServiceStatus"), dict) else None
    if own or status is None:
        running = sum(1 for t in own if t.state == "running" and t.node_id not in down_nodes)
        if mode == "replicated":
            desired = int(_d(_d(spec.get("Mode")).get("Replicated")).get("Replicas") or 0)
        else:
            desired = sum(1 for t in own if t.desired_state != "shutdown")
    else:
        running = int(status.get("RunningTasks") or 0)
        desired = int(status.get("DesiredTasks") or 0)
    update = _d(raw.get("UpdateStatus"))
    labels = _d(spec.get("Labels"))
    return SwarmService(
        id=sid,
        name=str(spec.get("Name") or sid),
        mode=mode,
        replicas_running=running,
        replicas_desired=desired,
        image=_short_image(_d(_d(spec.get("TaskTemplate")).get("ContainerSpec")).get("Image") or ""),
        update_state=update.get("State") or None,
        update_message=update.get("Message") or None,
        version=_version(raw),
        labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())),
    )


def _short_image(image: str) -> str:
    """Drop the pinned digest the CLI adds ('nginx:1.27@sha256:...' -> 'nginx:1.27')."""
    return image.split("@", 1)[0]


def parse_state(nodes: list[dict], services: list[dict], tasks: list[dict], manager: str | None) -> SwarmState:
    parsed_nodes = tuple(parse_node(n) for n in nodes if isinstance(n, dict))
    names = {n.id: n.hostname for n in parsed_nodes}
    down = frozenset(n.id for n in parsed_nodes if n.state != "ready")
    parsed_tasks = tuple(parse_task(t, names) for t in tasks if isinstance(t, dict))
    by_service: dict[str, list[SwarmTask]] = {}
    for t in parsed_tasks:
        by_service.setdefault(t.service_id, []).append(t)
    parsed_services = tuple(parse_service(s, by_service.get(str(s.get("ID", "")), ()), down)
                            for s in services if isinstance(s, dict))
    return SwarmState(
        nodes=tuple(sorted(parsed_nodes, key=lambda n: n.hostname)),
        services=tuple(sorted(parsed_services, key=lambda s: s.name)),
        tasks=tuple(sorted(parsed_tasks, key=lambda t: (t.service_id, t.slot or 0, t.timestamp or ""))),
        manager=manager,
    )

