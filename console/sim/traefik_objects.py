"""Build Traefik's runtime configuration (what /api/* reports) from the sim's World.

A router's service is the Swarm service of the same name (stack prefixes
allowed, "stack_web" serves "web"). Each running task is one server
(http://TASK_IP:PORT); its serverStatus is DOWN when the health check fails
(the traefik-backend-down fault, or the task's VM is gone). With no running
task, the tasks Swarm still wants running are listed DOWN; with no task at
all (scaled to 0) the provider leaves the service out, and routers that use
it are disabled with Traefik's error `the service "web@docker" does not exist`. Shapes follow
traefik/traefik pkg/config/runtime and pkg/api (checked against its golden
outputs).
"""

from __future__ import annotations

import hashlib

from console.sim.docker_objects import rfc3339

INTERNAL = "internal"
ENTRYPOINT_ADDRESSES = {"web": ":80", "websecure": ":443", "traefik": ":8080"}
_PROVIDER_NAMES = {"docker": "Docker", "swarm": "Swarm", "file": "File", "consul": "Consul"}


def qualify(name: str, provider: str) -> str:
    return name if "@" in name else f"{name}@{provider}"


def provider_of(name: str) -> str:
    return name.split("@", 1)[1] if "@" in name else ""


def task_ip(task_id: str) -> str:
    n = int(hashlib.sha256(task_id.encode()).hexdigest(), 16)
    return f"10.0.1.{2 + n % 250}"


def swarm_service_for(world, name: str, by_name: dict | None = None):
    """The Swarm service a Traefik service name refers to ("web", or a stack's "lab_web")."""
    base = name.split("@", 1)[0]
    if by_name is not None and base in by_name:
        return by_name[base]
    for svc in world.services.values():
        if svc.name == base or svc.name.endswith("_" + base):
            return svc
    return None


def _middleware_config(name: str) -> dict | None:
    base = name.split("@", 1)[0].lower()
    if "redirect" in base:
        return {"redirectRegex": {"regex": "^http://(.*)", "replacement": "https://${1}", "permanent": True}}
    if "auth" in base:
        return {"basicAuth": {"users": ["admin:$apr1$sim$0000000000000000000000"]}}
    if "compress" in base or "gzip" in base:
        return {"compress": {"encodings": ["gzip", "br", "zstd"]}}
    if "strip" in base:
        return {"stripPrefix": {"prefixes": ["/" + base.replace("strip", "").strip("-_") or "/"]}}
    if "prefix" in base:
        return {"addPrefix": {"prefix": "/" + base.replace("prefix", "").strip("-_")}}
    if "header" in base or "secure" in base:
        return {"headers": {"frameDeny": True, "contentTypeNosniff": True, "browserXssFilter": True,
                            "stsSeconds": 31536000, "stsIncludeSubdomains": True}}
    return None  # unknown: routers using it get Traefik's 'middleware "x" does not exist'


class TraefikRuntime:
    """One consistent snapshot of Traefik's runtime configuration."""

    def __init__(self, world):
        self.world = world
        self.entrypoints: dict[str, dict] = {}
        self.http_routers: dict[str, dict] = {}
        self.http_services: dict[str, dict] = {}
        self.http_middlewares: dict[str, dict] = {}
        self.tcp_routers: dict[str, dict] = {}
        self.tcp_services: dict[str, dict] = {}
        self.udp_routers: dict[str, dict] = {}
        self.udp_services: dict[str, dict] = {}
        self.providers: list[str] = []
        self._by_name = {s.name: s for s in world.services.values()}
        self._running: dict[str, list] = {}
        self._wanted: dict[str, list] = {}
        for t in world.tasks.values():
            if t.state == "running":
                self._running.setdefault(t.service_id, []).append(t)
            elif t.desired_state == "running":
                self._wanted.setdefault(t.service_id, []).append(t)
        self._build()

    # -- building ---------------------------------------------------------

    def _build(self) -> None:
        names = {"traefik"}
        for r in self.world.routers:
            names.update(r.entrypoints)
        for i, name in enumerate(sorted(names)):
            address = ENTRYPOINT_ADDRESSES.get(name) or (":2222" if "ssh" in name else f":{9000 + i}")
            if any(r.protocol == "udp" and name in r.entrypoints for r in self.world.routers):
                address += "/udp"
            self.entrypoints[name] = {
                "address": address,
                "transport": {"lifeCycle": {"graceTimeOut": "10s"},
                              "respondingTimeouts": {"readTimeout": "1m0s", "idleTimeout": "3m0s"}},
                "forwardedHeaders": {},
                "http": {},
                "name": name,
            }
        self._internal()
        providers = []
        for r in self.world.routers:
            self._add_router(r)
            label = _PROVIDER_NAMES.get(r.provider, r.provider.capitalize())
            if label not in providers:
                providers.append(label)
        self.providers = providers

    def _internal(self) -> None:
        self.http_routers["api@internal"] = {
            "entryPoints": ["traefik"], "service": "api@internal", "rule": "PathPrefix(`/api`)",
            "ruleSyntax": "default", "priority": 9223372036854775806, "status": "enabled", "using": ["traefik"]}
        self.http_routers["dashboard@internal"] = {
            "entryPoints": ["traefik"],
            "middlewares": ["dashboard_redirect@internal", "dashboard_stripprefix@internal"],
            "service": "dashboard@internal", "rule": "PathPrefix(`/`)", "ruleSyntax": "default",
            "priority": 9223372036854775805, "status": "enabled", "using": ["traefik"]}
        for name, used in (("api@internal", ["api@internal"]), ("dashboard@internal", ["dashboard@internal"]),
                           ("noop@internal", [])):
            self.http_services[name] = {"status": "enabled", "usedBy": used} if used else {"status": "enabled"}
        self.http_middlewares["dashboard_redirect@internal"] = {
            "redirectRegex": {"regex": "^(http:\\/\\/(\\[[\\w:.]+\\]|[\\w\\._-]+)(:\\d+)?)\\/$",
                              "replacement": "${1}/dashboard/", "permanent": True},
            "status": "enabled", "usedBy": ["dashboard@internal"]}
        self.http_middlewares["dashboard_stripprefix@internal"] = {
            "stripPrefix": {"prefixes": ["/dashboard/", "/dashboard"]},
            "status": "enabled", "usedBy": ["dashboard@internal"]}

    def _servers(self, svc, protocol: str, router_name: str) -> tuple[list[dict], dict]:
        """One server per running task; the health check marks it DOWN when its VM is gone or on fault.

        With no running task at all, the tasks Swarm still wants running (starting, restarting after a
        failure) stay listed as DOWN servers, as Traefik shows them until its provider drops them.
        """
        port = 22 if protocol == "tcp" and "ssh" in router_name else (svc.web_port or 80)
        tasks = self._running.get(svc.id, [])
        wanted = [] if tasks else [t for t in self._wanted.get(svc.id, []) if t.node_id]
        backend_ok = svc.name not in self.world.faults.traefik_backend_down
        servers, status = [], {}
        for t in sorted(tasks + wanted, key=lambda t: (t.slot or 0, t.id)):
            up = backend_ok and t.state == "running" and self.world.swarm_node_ready(t.node_id)
            if protocol == "http":
                key = f"http://{task_ip(t.id)}:{port}"
                servers.append({"url": key})
            else:
                key = f"{task_ip(t.id)}:{port}"
                servers.append({"address": key})
            status[key] = "UP" if up else "DOWN"
        return servers, status

    def _ensure_service(self, r, service_name: str) -> bool:
        table = {"http": self.http_services, "tcp": self.tcp_services, "udp": self.udp_services}[r.protocol]
        if service_name in table:
            return True
        svc = swarm_service_for(self.world, service_name, self._by_name)
        if svc is None:
            return False
        servers, status = self._servers(svc, r.protocol, r.name)
        if not servers:
            return False  # the provider drops a service with no running task
        entry: dict = {"loadBalancer": {"servers": servers}}
        if r.protocol == "http":
            entry["loadBalancer"]["passHostHeader"] = True
        entry["status"] = "enabled"
        entry["usedBy"] = []
        if r.protocol != "udp":
            entry["serverStatus"] = status
        table[service_name] = entry
        return True

    def _add_router(self, r) -> None:
        name = qualify(r.name, r.provider)
        service = qualify(r.service, r.provider)
        errors = list(r.errors)
        status = r.status if r.status in ("enabled", "warning", "disabled") else "enabled"
        using = [ep for ep in r.entrypoints if ep in self.entrypoints]
        if not using:
            errors.append("no valid entryPoint for this router")
        if not self._ensure_service(r, service):
            errors.append(f'the service "{service}" does not exist')
        else:
            table = {"http": self.http_services, "tcp": self.tcp_services, "udp": self.udp_services}[r.protocol]
            table[service]["usedBy"] = sorted(set(table[service].get("usedBy", [])) | {name})
        router: dict = {"entryPoints": list(r.entrypoints)}
        if r.protocol == "http":
            middlewares = [qualify(m, r.provider) for m in r.middlewares]
            for m in middlewares:
                if not self._ensure_middleware(m, name):
                    errors.append(f'middleware "{m}" does not exist')
            if r.middlewares:
                router["middlewares"] = list(r.middlewares)
        router["service"] = r.service
        if r.protocol != "udp":
            router["rule"] = r.rule or ("HostSNI(`*`)" if r.protocol == "tcp" else "PathPrefix(`/`)")
        if r.tls:
            router["tls"] = {"passthrough": False} if r.protocol == "tcp" else {"options": "default"}
        if len(errors) > len(r.errors):
            status = "disabled"
        if errors:
            router["error"] = errors
        router["status"] = status
        router["using"] = using
        {"http": self.http_routers, "tcp": self.tcp_routers, "udp": self.udp_routers}[r.protocol][name] = router

    def _ensure_middleware(self, name: str, router: str) -> bool:
        if name not in self.http_middlewares:
            config = _middleware_config(name)
            if config is None:
                return False
            self.http_middlewares[name] = {**config, "status": "enabled", "usedBy": []}
        entry = self.http_middlewares[name]
        entry["usedBy"] = sorted(set(entry["usedBy"]) | {router})
        return True

    # -- representations (pkg/api) ----------------------------------------

    def router_repr(self, name: str, router: dict, protocol: str) -> dict:
        out = dict(router)
        if protocol != "udp":
            out["priorityStr"] = str(router.get("priority", 0))
        out["name"] = name
        out["provider"] = provider_of(name)
        return out

    def service_repr(self, name: str, service: dict) -> dict:
        out = dict(service)
        out["name"] = name
        out["provider"] = provider_of(name)
        if "loadBalancer" in service:
            out["type"] = "loadbalancer"
        return out

    def middleware_repr(self, name: str, middleware: dict) -> dict:
        out = dict(middleware)
        out["name"] = name
        out["provider"] = provider_of(name)
        kinds = [k for k in middleware if k not in ("status", "usedBy", "error")]
        if kinds:
            out["type"] = kinds[0].lower()
        return out

    def rawdata(self) -> dict:
        out = {}
        for key, table in (("routers", self.http_routers), ("middlewares", self.http_middlewares),
                           ("services", self.http_services), ("tcpRouters", self.tcp_routers),
                           ("tcpServices", self.tcp_services), ("udpRouters", self.udp_routers),
                           ("udpServices", self.udp_services)):
            if table:
                out[key] = {name: dict(v) for name, v in table.items()}
        return out

    def overview(self) -> dict:
        def section(table: dict) -> dict:
            statuses = [v.get("status") for v in table.values()]
            return {"total": len(table), "warnings": statuses.count("warning"), "errors": statuses.count("disabled")}

        return {
            "http": {"routers": section(self.http_routers), "services": section(self.http_services),
                     "middlewares": section(self.http_middlewares)},
            "tcp": {"routers": section(self.tcp_routers), "services": section(self.tcp_services),
                    "middlewares": section({})},
            "udp": {"routers": section(self.udp_routers), "services": section(self.udp_services)},
            "features": {"tracing": "", "metrics": "Prometheus", "accessLog": False},
            "providers": list(self.providers),
        }


def version_json(world, start: float) -> dict:
    version = getattr(world, "traefik_version", "3.1.2")
    return {"Version": version, "Codename": "comte", "startDate": rfc3339(start)}
