"""The plumbing of the simulated PVE API: routes, parameter checks, errors.

Parameters are checked the way PVE's JSONSchema does it (PVE::JSONSchema
::validate): every parameter a route takes is declared, unknown ones are
refused (additionalProperties 0), and a failure becomes HTTP 400
"Parameter verification failed." with an ``errors`` object keyed by
parameter, which is what pveproxy answers (PVE::Exception::raise_param_exc
uses HTTP_BAD_REQUEST). Other failures are plain 500s whose message travels
in the HTTP reason phrase, as pveproxy does; proxmoxer reads it from there.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

NODE_NAME_RE = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?$")
INTEGER_RE = re.compile(r"^[+-]?\d+$")
NUMBER_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
TRUE_WORDS = {"1", "on", "yes", "true"}
FALSE_WORDS = {"0", "off", "no", "false"}
TASK_STATUS_TYPES = {"ok", "error", "warning", "unknown"}


class PveError(Exception):
    """An answer other than 200: status, reason phrase, optional per-parameter errors."""

    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or {}


def param_error(errors: dict[str, str]) -> PveError:
    return PveError(400, "Parameter verification failed.", errors)


@dataclass(frozen=True)
class Result:
    """Handler data plus the envelope's extra keys PVE sets (``total``)."""

    data: Any
    total: int | None = None


@dataclass(frozen=True)
class P:
    """One declared parameter (the subset of PVE's JSONSchema the sim needs)."""

    type: str  # "string" | "integer" | "number" | "boolean" | "array" (of strings)
    optional: bool = False
    enum: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    format: str | None = None  # "pve-node" | "pve-vmid" | "pve-vmid-list" | "pve-task-status-type-list"


NODE = P("string", format="pve-node")
VMID = P("integer", minimum=100, maximum=999999999, format="pve-vmid")
OPT_BOOL = P("boolean", optional=True)
OPT_UINT = P("integer", optional=True, minimum=0)

Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # PVE template, e.g. "/nodes/{node}/qemu/{vmid}/migrate"
    handler: Handler
    params: dict[str, P] = field(default_factory=dict)
    # (ACL path template, privilege) the token needs, None = any authenticated user
    perm: tuple[str, str] | None = None
    family: str = "pve"  # fault family besides "pve": "ceph" adds Ceph latency/errors
    write: bool = False  # needs a quorate cluster, like pmxcfs writes do

    def match(self, path: str) -> dict[str, str] | None:
        want = self.path.strip("/").split("/")
        got = path.strip("/").split("/")
        if len(want) != len(got):
            return None
        found: dict[str, str] = {}
        for w, g in zip(want, got, strict=True):
            if w.startswith("{") and w.endswith("}"):
                if not g:
                    return None
                found[w[1:-1]] = g
            elif w != g:
                return None
        return found


def _check_one(name: str, spec: P, raw: Any) -> tuple[Any, str | None]:
    if spec.type == "array":  # h-upgguest: agent/exec `command` (repeated form fields, a JSON list, or one string)
        items = raw if isinstance(raw, list) else [raw]
        return [str(i) for i in items], (None if items else "property is missing and it is not optional")
    text = str(raw).strip() if not isinstance(raw, bool) else ("1" if raw else "0")
    value: Any = text
    if spec.type == "boolean":
        low = text.lower()
        if low in TRUE_WORDS:
            return 1, None
        if low in FALSE_WORDS:
            return 0, None
        return None, f"type check ('boolean') failed - got '{text}'"
    if spec.type == "integer":
        if not INTEGER_RE.match(text):
            return None, f"type check ('integer') failed - got '{text}'"
        value = int(text)
    elif spec.type == "number":
        if not NUMBER_RE.match(text):
            return None, f"type check ('number') failed - got '{text}'"
        value = float(text)
    if spec.minimum is not None and value < spec.minimum:
        return None, f"value must have a minimum value of {spec.minimum:g}"
    if spec.maximum is not None and value > spec.maximum:
        return None, f"value must have a maximum value of {spec.maximum:g}"
    if spec.enum is not None and text not in spec.enum:
        return None, f"value '{text}' does not have a value in the enumeration '{', '.join(spec.enum)}'"
    if spec.format == "pve-node" and not NODE_NAME_RE.match(text):
        return None, "value does not look like a valid node name"
    if spec.format == "pve-vmid-list" and not re.fullmatch(r"\d+(?:[,;\s]+\d+)*[,;\s]*", text):
        return None, "invalid format - value does not look like a valid VMID list"
    if spec.format == "pve-task-status-type-list":
        bad = [s for s in re.split(r"[,;\s]+", text) if s and s not in TASK_STATUS_TYPES]
        if bad:
            return None, f"value '{bad[0]}' does not look like a valid task status type"
    return value, None


def validate_params(spec: dict[str, P], given: dict[str, Any]) -> dict[str, Any]:
    """Checked and converted parameters, or PveError(400) naming every bad one."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for name, raw in given.items():
        p = spec.get(name)
        if p is None:
            errors[name] = "property is not defined in schema and the schema does not allow additional properties"
            continue
        value, err = _check_one(name, p, raw)
        if err:
            errors[name] = err
        else:
            out[name] = value
    for name, p in spec.items():
        if not p.optional and name not in given:
            errors[name] = "property is missing and it is not optional"
    if errors:
        raise param_error(errors)
    return out


def parse_upid(upid: str) -> dict[str, Any] | None:
    """The fields of ``UPID:node:pid:pstart:starttime:type:id:user:`` (hex numbers), or None."""
    m = re.match(
        r"^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):"
        r"([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$",
        upid,
    )
    if not m:
        return None
    return {
        "node": m.group(1),
        "pid": int(m.group(3), 16),
        "pstart": int(m.group(4), 16),
        "starttime": int(m.group(5), 16),
        "type": m.group(6),
        "id": m.group(7),
        "user": m.group(8),
    }
