"""Docker Engine API (Swarm) JSON -> SwarmNode / SwarmService / SwarmTask.

Shapes follow moby's api/swagger.yaml (Node, Service, Task). The lists must be
lists of objects and a field that is present must have its type (ShapeError
otherwise, naming the endpoint); unknown fields are ignored and missing
optional ones become None, so older and newer engines parse alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from console.model import SwarmNode, SwarmService, SwarmState, SwarmTask
from console.sources import shape as sh

H = sh.HERE


def _d(value: Any, field: str) -> dict:
    return sh.opt_obj(value, H, f"`{field}`")


def _s(value: Any, field: str, default: str = "") -> str:
    return sh.text(value, H, field, default)


def _version(obj: dict) -> int:
    return sh.integer(_d(obj.get("Version"), "Version").get("Index"), H, "Version.Index", 0, lo=0)


@sh.parser("swarm /nodes")
def parse_node(raw: dict) -> SwarmNode:
    raw = sh.obj(raw, H, "a node")
    spec, desc, status = _d(raw.get("Spec"), "Spec"), _d(raw.get("Description"), "Description"), \
        _d(raw.get("Status"), "Status")
    manager = _d(raw.get("ManagerStatus"), "ManagerStatus") or None
    nid = _s(raw.get("ID"), "ID")
    return SwarmNode(
        id=nid,
        hostname=_s(desc.get("Hostname"), "Hostname") or nid,
        role=_s(spec.get("Role"), "Role") or ("manager" if manager else "worker"),
        availability=_s(spec.get("Availability"), "Availability") or "active",
        state=_s(status.get("State"), "State") or "unknown",
        leader=bool(manager and sh.flag(manager.get("Leader"), H, "Leader")),
        reachability=sh.opt_text(manager.get("Reachability"), H, "Reachability") if manager else None,
        engine_version=sh.opt_text(_d(desc.get("Engine"), "Engine").get("EngineVersion"), H, "EngineVersion"),
        addr=sh.opt_text(status.get("Addr"), H, "Addr") or (sh.opt_text(manager.get("Addr"), H, "Addr")
                                                           if manager else None),
        version=_version(raw),
    )


@sh.parser("swarm /tasks")
def parse_task(raw: dict, node_names: dict[str, str] | None = None) -> SwarmTask:
    raw = sh.obj(raw, H, "a task")
    status = _d(raw.get("Status"), "Status")
    node_id = sh.opt_text(raw.get("NodeID"), H, "NodeID")
    slot = raw.get("Slot")
    return SwarmTask(
        id=_s(raw.get("ID"), "ID"),
        service_id=_s(raw.get("ServiceID"), "ServiceID"),
        node_id=node_id,
        state=_s(status.get("State"), "State") or "unknown",
        desired_state=_s(raw.get("DesiredState"), "DesiredState") or "unknown",
        slot=sh.integer(slot, H, "Slot") if slot is not None else None,
        node_name=(node_names or {}).get(node_id) if node_id else None,
        error=sh.opt_text(status.get("Err"), H, "Err"),
        message=sh.opt_text(status.get("Message"), H, "Message"),
        timestamp=sh.opt_text(status.get("Timestamp"), H, "Timestamp"),
        exit_code=_exit_code(status),
    )


def _exit_code(status: dict) -> int | None:
    code = _d(status.get("ContainerStatus"), "ContainerStatus").get("ExitCode")
    return sh.integer(code, H, "ExitCode") if code is not None else None


def service_mode(spec: dict) -> str:
    mode = _d(spec.get("Mode"), "Mode")
    for key, name in (("Replicated", "replicated"), ("Global", "global"),
                      ("ReplicatedJob", "replicated-job"), ("GlobalJob", "global-job")):
        if key in mode:
            return name
    return "replicated"


@sh.parser("swarm /services")
def parse_service(raw: dict, tasks: Iterable[SwarmTask] = (), down_nodes: frozenset[str] = frozenset()) -> SwarmService:
    """Running/desired are counted from the tasks the way `docker service ls`
    does (running tasks on nodes that are not down); ServiceStatus, when the
    engine sent it, is used only when no tasks were given."""
    raw = sh.obj(raw, H, "a service")
    spec = _d(raw.get("Spec"), "Spec")
    mode = service_mode(spec)
    sid = _s(raw.get("ID"), "ID")
    own = [t for t in tasks if t.service_id == sid]
    status = _d(raw.get("ServiceStatus"), "ServiceStatus") or None
    if own or status is None:
        running = sum(1 for t in own if t.state == "running" and t.node_id not in down_nodes)
        if mode == "replicated":
            replicated = _d(_d(spec.get("Mode"), "Mode").get("Replicated"), "Replicated")
            desired = sh.integer(replicated.get("Replicas"), H, "Replicas", 0, lo=0)
        else:
            desired = sum(1 for t in own if t.desired_state != "shutdown")
    else:
        running = sh.integer(status.get("RunningTasks"), H, "RunningTasks", 0, lo=0)
        desired = sh.integer(status.get("DesiredTasks"), H, "DesiredTasks", 0, lo=0)
    update = _d(raw.get("UpdateStatus"), "UpdateStatus")
    labels = _d(spec.get("Labels"), "Labels")
    image = _s(_d(_d(spec.get("TaskTemplate"), "TaskTemplate").get("ContainerSpec"), "ContainerSpec").get("Image"),
               "Image")
    return SwarmService(
        id=sid,
        name=_s(spec.get("Name"), "Name") or sid,
        mode=mode,
        replicas_running=running,
        replicas_desired=desired,
        image=_short_image(image),
        update_state=sh.opt_text(update.get("State"), H, "UpdateStatus.State"),
        update_message=sh.opt_text(update.get("Message"), H, "UpdateStatus.Message"),
        version=_version(raw),
        labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())),
        image_digest=image.partition("@")[2] or None,
    )


def _short_image(image: str) -> str:
    """Drop the pinned digest the CLI adds ('nginx:1.27@sha256:...' -> 'nginx:1.27')."""
    return image.split("@", 1)[0]


def parse_state(nodes: Any, services: Any, tasks: Any, manager: str | None) -> SwarmState:
    """The three lists of one read; each must be a list of objects."""
    at = f" on {manager}" if manager else ""
    nodes = sh.objects(nodes, f"swarm /nodes{at}", "the answer")
    if not nodes:  # the manager that answered is a node of its own swarm
        raise sh.ShapeError(f"swarm /nodes{at}", "no nodes: a manager always lists at least itself",
                            "is this endpoint a Swarm manager?")
    services = sh.objects(services, f"swarm /services{at}", "the answer")
    tasks = sh.objects(tasks, f"swarm /tasks{at}", "the answer")
    parsed_nodes = tuple(parse_node(n, where=f"swarm /nodes{at}") for n in nodes)
    names = {n.id: n.hostname for n in parsed_nodes}
    down = frozenset(n.id for n in parsed_nodes if n.state != "ready")
    parsed_tasks = tuple(parse_task(t, names, where=f"swarm /tasks{at}") for t in tasks)
    by_service: dict[str, list[SwarmTask]] = {}
    for t in parsed_tasks:
        by_service.setdefault(t.service_id, []).append(t)
    parsed_services = tuple(parse_service(s, by_service.get(str(s.get("ID", "")), ()), down,
                                          where=f"swarm /services{at}") for s in services)
    return SwarmState(
        nodes=tuple(sorted(parsed_nodes, key=lambda n: n.hostname)),
        services=tuple(sorted(parsed_services, key=lambda s: s.name)),
        tasks=tuple(sorted(parsed_tasks, key=lambda t: (t.service_id, t.slot or 0, t.timestamp or ""))),
        manager=manager,
    )

