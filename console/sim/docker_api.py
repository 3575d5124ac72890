"""The simulated Docker Engine API (Swarm subset), one app per manager VM.

make_docker_app(world, manager_hostname) -> aiohttp Application; server.py
serves it on DIR/docker-<manager>.sock. Paths are accepted bare and with a
/v1.NN/ prefix (the CLI negotiates through /_ping's API-Version header).
Errors are moby's: {"message": "..."} with 400/404/500/503, never a traceback.

When the manager's VM is not running (world.swarm_node_ready is false) the app
drops every connection without answering, as an unreachable daemon does: the
client sees a connection error and fails over to another manager. When fewer
than a majority of managers are up, swarm endpoints answer 503 with swarmkit's
"does not have a leader" error, as a real manager does without quorum.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re

from aiohttp import web

from console.sim import docker_objects as obj
from console.sim import docker_system
from console.sim.docker_filters import (
    NODE_FILTERS,
    SERVICE_FILTERS,
    TASK_FILTERS,
    DockerApiError,
    filter_nodes,
    filter_services,
    filter_tasks,
    lookup_node,
    lookup_service,
    lookup_task,
    parse_filters,
)
from console.sim.docker_logs import bool_param, serve_logs
from console.sim.dynamics_swarm_updates import OUT_OF_SEQUENCE
from console.sim.sim_errors import SimError

log = logging.getLogger(__name__)

NOT_A_MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" '
                 "to connect this node to swarm and try again.")
NO_LEADER = ("rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few "
             "managers are online. Make sure more than half of the managers are online.")
FAULT_ERROR = "rpc error: code = DeadlineExceeded desc = context deadline exceeded"
_VERSION_PREFIX = re.compile(r"^/v(\d+)\.(\d+)(/.*)$")


def _vtuple(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def _json(data, status: int = 200) -> web.Response:
    # exactly "application/json" (no charset): the Go client only decodes error bodies then
    return web.Response(status=status, body=json.dumps(data).encode(), headers={"Content-Type": "application/json"})


def _error(status: int, message: str) -> web.Response:
    return _json({"message": message}, status)


def _version_param(request: web.Request, kind: str) -> int:
    raw = request.query.get("version", "")
    try:
        value = int(raw)
        if value < 0:
            raise ValueError
    except ValueError:
        raise DockerApiError(400, f'invalid {kind} version \'{raw}\': strconv.ParseUint: parsing "{raw}": '
                                  "invalid syntax") from None
    return value


async def _json_body(request: web.Request) -> dict:
    raw = await request.read()
    if not raw.strip():
        raise DockerApiError(400, "got EOF while reading request body")
    ctype = request.headers.get("Content-Type", "application/json").split(";")[0].strip()
    if ctype and ctype != "application/json":
        raise DockerApiError(400, f"unsupported Content-Type header ({ctype}): must be 'application/json'")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise DockerApiError(400, f"invalid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise DockerApiError(400, "json: cannot unmarshal array into Go value of type swarm.Spec")
    return body


class DockerFront:
    """Request handlers bound to one world and one manager VM."""

    def __init__(self, world, manager_hostname: str):
        self.world = world
        self.manager_hostname = manager_hostname
        self.routes = [
            ("GET", r"/_ping", self.ping), ("HEAD", r"/_ping", self.ping),
            ("GET", r"/version", self.version), ("GET", r"/info", self.info),
            ("GET", r"/nodes", self.nodes), ("GET", r"/nodes/(?P<ref>[^/]+)", self.node),
            ("POST", r"/nodes/(?P<ref>[^/]+)/update", self.node_update),
            ("GET", r"/services", self.services), ("GET", r"/services/(?P<ref>[^/]+)", self.service),
            ("POST", r"/services/(?P<ref>[^/]+)/update", self.service_update),
            ("GET", r"/services/(?P<ref>[^/]+)/logs", self.service_logs),
            ("GET", r"/tasks", self.tasks), ("GET", r"/tasks/(?P<ref>[^/]+)", self.task),
            ("GET", r"/distribution/(?P<name>.+)/json", self.distribution),
        ]

    # -- plumbing ---------------------------------------------------------

    def own_node(self):
        for n in self.world.swarm_nodes.values():
            if n.hostname == self.manager_hostname:
                return n
        return None

    def ready(self) -> bool:
        own = self.own_node()
        return own is not None and bool(self.world.swarm_node_ready(own.id))

    def has_quorum(self) -> bool:
        """Raft needs a majority of managers (and the world's elected leader, if it tracks one)."""
        leader_of = getattr(self.world, "swarm_leader", None)
        if callable(leader_of) and leader_of() is None:
            return False
        managers = [n for n in self.world.swarm_nodes.values() if n.role == "manager"]
        up = sum(1 for n in managers if self.world.swarm_node_ready(n.id))
        return up * 2 > len(managers)

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        self.world.tick()
        own = self.own_node()
        if own is not None and not self.world.swarm_node_ready(own.id):
            return _drop(request)
        delay = self.world.fault_delay("docker")
        if delay > 0:
            await asyncio.sleep(delay)
            self.world.tick()
        path = request.path
        m = _VERSION_PREFIX.match(path)
        if m:
            asked = (int(m.group(1)), int(m.group(2)))
            path = m.group(3)
            if asked > _vtuple(obj.ENGINE_API_VERSION):
                return _error(400, f"client version {m.group(1)}.{m.group(2)} is too new. Maximum supported "
                                   f"API version is {obj.ENGINE_API_VERSION}")
            if asked < _vtuple(obj.MIN_API_VERSION):
                return _error(400, f"client version {m.group(1)}.{m.group(2)} is too old. Minimum supported "
                                   f"API version is {obj.MIN_API_VERSION}, please upgrade your client to a newer "
                                   "version")
        path = path.rstrip("/") or "/"
        for method, pattern, handler in self.routes:  # noqa: B007 - the route found is used after the loop
            match = re.fullmatch(pattern, path)
            if match and request.method == method:
                break
        else:
            return _error(404, "page not found")
        if self.world.fault_error("docker"):
            return _error(500, FAULT_ERROR)
        if own is None:
            return _error(503, NOT_A_MANAGER)
        if handler not in (self.ping, self.version, self.info) and not self.has_quorum():
            return _error(503, NO_LEADER)
        try:
            return await handler(request, own, **match.groupdict())
        except DockerApiError as exc:
            return _error(exc.status, exc.message)
        except SimError as exc:
            return _sim_error(exc)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:  # a sim bug must still answer in Docker's shape
            log.exception("docker api %s %s failed", request.method, request.path)
            return _error(500, f"internal error: {type(exc).__name__}")

    # -- system -----------------------------------------------------------

    async def ping(self, request, own):
        headers = {"API-Version": obj.ENGINE_API_VERSION, "Docker-Experimental": "false", "OSType": "linux",
                   "Swarm": "active/manager", "Cache-Control": "no-cache, no-store, must-revalidate",
                   "Pragma": "no-cache", "Builder-Version": "2"}
        body = None if request.method == "HEAD" else "OK"
        return web.Response(text=body, headers=headers, content_type="text/plain", charset="utf-8")

    async def version(self, request, own):
        return _json(docker_system.version_json(self.world, own))

    async def info(self, request, own):
        return _json(docker_system.system_info(self.world, own))

    # -- nodes ------------------------------------------------------------

    async def nodes(self, request, own):
        flt = parse_filters(request.query.get("filters"), NODE_FILTERS)
        nodes = filter_nodes(self.world, self.world.swarm_nodes.values(), flt)
        return _json([obj.node_json(self.world, n) for n in nodes])

    async def node(self, request, own, ref):
        return _json(obj.node_json(self.world, lookup_node(self.world, ref)))

    async def node_update(self, request, own, ref):
        node = lookup_node(self.world, ref)
        version = _version_param(request, "node")
        spec = await _json_body(request)
        for key, allowed in (("Availability", ("active", "pause", "drain")), ("Role", ("worker", "manager"))):
            if key in spec and spec[key] not in allowed:
                raise DockerApiError(400, f"invalid {key}: {json.dumps(spec[key])}")
        if version != node.version:
            raise DockerApiError(500, OUT_OF_SEQUENCE)
        self.world.swarm_node_update(node.id, version, spec)
        return web.Response(status=200)

    # -- services ---------------------------------------------------------

    async def services(self, request, own):
        flt = parse_filters(request.query.get("filters"), SERVICE_FILTERS)
        with_status = bool_param(request, "status")
        found = filter_services(self.world, self.world.services.values(), flt)
        counts = obj.task_counts(self.world) if with_status else None
        return _json([obj.service_json(self.world, s, with_status=with_status, counts=counts) for s in found])

    async def service(self, request, own, ref):
        svc = lookup_service(self.world, ref)
        return _json(obj.service_json(self.world, svc, insert_defaults=bool_param(request, "insertDefaults")))

    async def service_update(self, request, own, ref):
        svc = lookup_service(self.world, ref)
        version = _version_param(request, "service")
        rollback = request.query.get("rollback", "")
        if rollback not in ("", "previous"):
            raise DockerApiError(400, f"unrecognized rollback option {rollback}")
        spec = await _json_body(request)
        if version != svc.version:
            raise DockerApiError(500, OUT_OF_SEQUENCE)
        if rollback:
            warnings = self.world.service_update(svc.id, version, None, True)
        else:
            image = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image")
            if not image:
                raise DockerApiError(400, "ContainerSpec: image reference must be provided")
            warnings = self.world.service_update(svc.id, version, spec, False)
        return _json({"Warnings": list(warnings or [])})

    async def service_logs(self, request, own, ref):
        svc = lookup_service(self.world, ref)
        return await serve_logs(request, self.world, svc, self.ready)

    # -- tasks ------------------------------------------------------------

    async def tasks(self, request, own):
        flt = parse_filters(request.query.get("filters"), TASK_FILTERS)
        found = filter_tasks(self.world, self.world.tasks.values(), flt, own.id)
        return _json([obj.task_json(self.world, t) for t in found])

    async def task(self, request, own, ref):
        return _json(obj.task_json(self.world, lookup_task(self.world, ref)))

    # -- distribution -----------------------------------------------------

    async def distribution(self, request, own, name):
        """What `docker service create/update` asks to pin a tag's digest: the engine asks the registry."""
        from console.sim.registry_state import distribution

        return _json(distribution(self.world, name))


def _sim_error(exc: SimError) -> web.Response:
    if "out of sequence" in exc.message:
        return _error(500, OUT_OF_SEQUENCE)
    status = exc.status if 400 <= exc.status <= 599 else 500
    if status == 409:  # moby answers a swarmkit conflict as a 500 with the rpc error text
        status = 500
    return _error(status, exc.message)


def _drop(request: web.Request) -> web.Response:
    """Close the connection without an answer: the daemon is unreachable."""
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError


DOCKER_FRONT_KEY = web.AppKey("docker_front", DockerFront)


def make_docker_app(world, manager_hostname: str) -> web.Application:
    front = DockerFront(world, manager_hostname)
    app = web.Application(client_max_size=16 * 1024**2)
    app.router.add_route("*", "/{tail:.*}", front.dispatch)
    app[DOCKER_FRONT_KEY] = front
    return app
