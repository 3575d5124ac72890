"""Render the sim's Swarm state as Docker Engine API JSON (swagger v1.4x shapes).

Pure functions over a World: no I/O. docker_api.py serves what these return;
the conformance tests check them against moby's swagger definitions.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib

ENGINE_API_VERSION = "1.45"  # what Engine 26.1 speaks
MIN_API_VERSION = "1.24"
SWARM_PORT = 2377
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def rfc3339(t: float | None) -> str:
    """Epoch seconds -> RFC 3339 with nanoseconds, as Go's time.RFC3339Nano (fixed 9 digits)."""
    if t is None:
        t = 0.0
    ns = int(round(t * 1e9))
    secs, frac = divmod(ns, 1_000_000_000)
    stamp = _EPOCH + dt.timedelta(seconds=secs)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def fake_id(seed: str, length: int = 25) -> str:
    """A stable docker-style id (lowercase alphanumerics) derived from seed."""
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    digest = hashlib.sha256(seed.encode()).digest()
    out = []
    while len(out) < length:
        for b in digest:
            out.append(alphabet[b % 36])
        digest = hashlib.sha256(digest).digest()
    return "".join(out[:length])


def guest_for(world, hostname: str):
    for g in world.guests.values():
        if g.name == hostname:
            return g
    return None


def node_ready(world, node) -> bool:
    """What the managers report: a dead VM shows "down" once its heartbeat timed out."""
    state_of = getattr(world, "swarm_node_state", None)
    if callable(state_of):
        return state_of(node.id) == "ready"
    return bool(world.swarm_node_ready(node.id))


def node_labels(world, node) -> dict:
    """Node labels (Spec.Labels) as set through node update."""
    return dict(node.labels)


def node_json(world, node) -> dict:
    ready = node_ready(world, node)
    guest = guest_for(world, node.hostname)
    cpus = guest.cpus if guest else 2
    mem = guest.maxmem if guest else 4 * 1024**3
    out = {
        "ID": node.id,
        "Version": {"Index": node.version},
        "CreatedAt": rfc3339(node.created_at),
        "UpdatedAt": rfc3339(node.updated_at),
        "Spec": {"Labels": node_labels(world, node), "Role": node.role, "Availability": node.availability},
        "Description": {
            "Hostname": node.hostname,
            "Platform": {"Architecture": "x86_64", "OS": "linux"},
            "Resources": {"NanoCPUs": cpus * 1_000_000_000, "MemoryBytes": mem},
            "Engine": {
                "EngineVersion": node.engine_version,
                "Plugins": [
                    {"Type": "Log", "Name": "json-file"},
                    {"Type": "Log", "Name": "journald"},
                    {"Type": "Network", "Name": "bridge"},
                    {"Type": "Network", "Name": "overlay"},
                    {"Type": "Volume", "Name": "local"},
                ],
            },
            "TLSInfo": {
                "TrustRoot": "-----BEGIN CERTIFICATE-----\nsimulated\n-----END CERTIFICATE-----\n",
                "CertIssuerSubject": "MBMxETAPBgNVBAMTCHN3YXJtLWNh",
                "CertIssuerPublicKey": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE",
            },
        },
        "Status": {"State": "ready" if ready else "down", "Addr": node.addr},
    }
    if not ready:
        out["Status"]["Message"] = "heartbeat failure for node in \"unknown\" state"
    if node.role == "manager":
        out["ManagerStatus"] = {
            "Leader": bool(node.leader) and ready,
            "Reachability": "reachable" if ready else "unreachable",
            "Addr": f"{node.addr}:{SWARM_PORT}",
        }
    return out


def default_service_spec(svc) -> dict:
    """The spec Docker reports for a service created with only name, image and mode."""
    spec = {
        "Name": svc.name,
        "Labels": {},
        "TaskTemplate": {
            "ContainerSpec": {"Image": svc.image, "Init": False, "StopGracePeriod": 10_000_000_000,
                              "DNSConfig": {}, "Isolation": "default"},
            "Resources": {"Limits": {}, "Reservations": {}},
            "RestartPolicy": {"Condition": "any", "Delay": 5_000_000_000, "MaxAttempts": 0},
            "Placement": {},
            "ForceUpdate": 0,
            "Runtime": "container",
        },
        "Mode": {},
        "UpdateConfig": {"Parallelism": 1, "FailureAction": "pause", "Monitor": 5_000_000_000,
                         "MaxFailureRatio": 0, "Order": "stop-first"},
        "RollbackConfig": {"Parallelism": 1, "FailureAction": "pause", "Monitor": 5_000_000_000,
                           "MaxFailureRatio": 0, "Order": "stop-first"},
        "EndpointSpec": {"Mode": "vip"},
    }
    return spec


def _with_defaults(spec: dict, defaults: dict) -> dict:
    out = copy.deepcopy(defaults)
    for key, value in spec.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _with_defaults(value, out[key])
        else:
            out[key] = copy.deepcopy(value)
    return out


def service_spec(svc, insert_defaults: bool = True) -> dict:
    """The service's spec; the SimService fields (name, image, mode, replicas) win."""
    given = copy.deepcopy(svc.spec) if svc.spec else {}
    spec = _with_defaults(given, default_service_spec(svc)) if insert_defaults or not given else given
    spec["Name"] = svc.name
    template = spec.setdefault("TaskTemplate", {})
    template.setdefault("ContainerSpec", {})["Image"] = svc.image
    if svc.mode == "global":
        spec["Mode"] = {"Global": {}}
    else:
        spec["Mode"] = {"Replicated": {"Replicas": int(svc.replicas)}}
    return spec


def _published_ports(svc) -> list[dict]:
    spec = svc.spec or {}
    return list((spec.get("EndpointSpec") or {}).get("Ports") or [])


def task_counts(world) -> tuple[dict[str, int], dict[str, int]]:
    """(running, desired-running) tasks per service id, in one pass (as World.service_running_tasks
    counts: running on a VM that is up)."""
    ready: dict[str, bool] = {}
    running: dict[str, int] = {}
    desired: dict[str, int] = {}
    for t in world.tasks.values():
        if t.desired_state == "running":
            desired[t.service_id] = desired.get(t.service_id, 0) + 1
        if t.state == "running" and t.node_id:
            if t.node_id not in ready:
                ready[t.node_id] = bool(world.swarm_node_ready(t.node_id))
            if ready[t.node_id]:
                running[t.service_id] = running.get(t.service_id, 0) + 1
    return running, desired


def _timestamp_fields(status: dict) -> dict:
    out = {}
    for key, value in status.items():
        if key in ("StartedAt", "CompletedAt") and isinstance(value, (int, float)):
            out[key] = rfc3339(value)
        elif value is not None:
            out[key] = value
    return out


def service_json(world, svc, with_status: bool = False, insert_defaults: bool = False,
                 counts: tuple[dict[str, int], dict[str, int]] | None = None) -> dict:
    ports = _published_ports(svc)
    endpoint: dict = {"Spec": {"Mode": "vip"}}
    if ports:
        endpoint["Spec"]["Ports"] = ports
        endpoint["Ports"] = ports
    endpoint["VirtualIPs"] = [{"NetworkID": fake_id("ingress"), "Addr": _vip(svc)}]
    out = {
        "ID": svc.id,
        "Version": {"Index": svc.version},
        "CreatedAt": rfc3339(svc.created_at),
        "UpdatedAt": rfc3339(svc.updated_at),
        "Spec": service_spec(svc, insert_defaults),
        "Endpoint": endpoint,
    }
    if svc.previous_spec:
        prev = copy.deepcopy(svc.previous_spec)
        prev.setdefault("Name", svc.name)
        out["PreviousSpec"] = prev
    if svc.update_status:
        out["UpdateStatus"] = _timestamp_fields(svc.update_status)
    if with_status:
        running, desired = counts if counts is not None else task_counts(world)
        out["ServiceStatus"] = {
            "RunningTasks": running.get(svc.id, 0),
            "DesiredTasks": desired.get(svc.id, 0) if svc.mode == "global" else int(svc.replicas),
            "CompletedTasks": 0,
        }
    return out


def _vip(svc) -> str:
    n = int(hashlib.sha256(svc.id.encode()).hexdigest(), 16)
    return f"10.0.8.{2 + n % 250}/24"


def task_name(world, task) -> str:
    svc = world.services.get(task.service_id)
    base = svc.name if svc else task.service_id
    if task.slot is not None:
        return f"{base}.{task.slot}"
    return f"{base}.{task.node_id}"


def task_json(world, task) -> dict:
    status = {
        "Timestamp": rfc3339(task.updated_at),
        "State": task.state,
        "Message": task.message,
        "ContainerStatus": {
            "ContainerID": task.container_id or hashlib.sha256(("c" + task.id).encode()).hexdigest(),
            "PID": _pid(task) if task.state == "running" else 0,
            "ExitCode": 0 if task.state != "failed" else 1,
        },
        "PortStatus": {},
    }
    if task.error:
        status["Err"] = task.error
    out = {
        "ID": task.id,
        "Version": {"Index": task.spec_version},
        "CreatedAt": rfc3339(task.created_at),
        "UpdatedAt": rfc3339(task.updated_at),
        "Labels": {},
        "Spec": {
            "ContainerSpec": {"Image": task.image, "Init": False, "StopGracePeriod": 10_000_000_000,
                              "DNSConfig": {}, "Isolation": "default"},
            "Resources": {"Limits": {}, "Reservations": {}},
            "RestartPolicy": {"Condition": "any", "Delay": 5_000_000_000, "MaxAttempts": 0},
            "Placement": {},
            "ForceUpdate": 0,
        },
        "ServiceID": task.service_id,
        "Status": status,
        "DesiredState": task.desired_state,
    }
    if task.slot is not None:
        out["Slot"] = task.slot
    if task.node_id:
        out["NodeID"] = task.node_id
    return out


def _pid(task) -> int:
    return 1000 + int(hashlib.sha256(task.id.encode()).hexdigest(), 16) % 60000
