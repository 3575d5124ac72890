"""HA rules in the simulated PVE (pve-ha-manager 5, PVE 9): /cluster/ha/rules.

The store is World.ha_rules (rule id -> SimHaRule, in creation order). What
the API answers follows PVE::API2::HA::Rules: the index and a read return the
whole rule (type, resources, nodes, strict, affinity, disable, comment) plus
the file's digest and the rule's order; create refuses a rule id in use,
resources that are not HA-managed and nodes that do not exist; update checks
the digest and applies `delete`; the feasibility check PVE runs on every write
refuses a resource in two enabled node-affinity rules (400 "Rule '...' is
invalid." with per-option errors). World.ha_rules_api = False makes the sim a
PVE 8 cluster, which has no such path (501, like pveproxy).

placement() is the part HA's CRM uses (select_service_node): which nodes a
resource may go to and which it prefers, under the enabled rules.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from console.sim.pve_routes import P, PveError, param_error

CONFIGID_RE = re.compile(r"^[a-z][a-z0-9_-]+$", re.IGNORECASE)
SID_RE = re.compile(r"^(vm|ct):(\d+)$")
TYPES = ("node-affinity", "resource-affinity")
TYPE_OPTIONS = {
    "node-affinity": {"resources", "nodes", "strict", "disable", "comment"},
    "resource-affinity": {"resources", "affinity", "disable", "comment"},
}


@dataclass
class SimHaRule:
    name: str
    type: str  # "node-affinity" | "resource-affinity"
    resources: list[str]  # "vm:101"
    nodes: dict[str, int] = field(default_factory=dict)  # node-affinity: node -> priority
    strict: bool | None = None  # None: not set (PVE's default 0)
    affinity: str | None = None  # "positive" | "negative"
    disable: bool = False
    comment: str | None = None
    order: int = 0


# -- rule semantics (used by the HA placement in dynamics_pve) -------------------


def enabled_rules(world, sid: str, kind: str) -> list[SimHaRule]:
    return [r for r in world.ha_rules.values() if r.type == kind and not r.disable and sid in r.resources]


def placement(world, sid: str, candidates: list[str], where: dict[str, str]) -> tuple[list[str], bool]:
    """(nodes the resource may go to, best first by rule priority; whether a rule narrowed it).

    candidates: online nodes it could go to without rules; where: sid -> node of the
    other HA resources (their target while they move). Node affinity as
    PVE::HA::Rules::NodeAffinity::get_node_affinity (a non-strict rule adds every other
    node at priority -1), then negative resource affinity removes the nodes its
    partners are on and positive keeps only theirs."""
    prio = {n: 0 for n in candidates}
    narrowed = False
    for rule in enabled_rules(world, sid, "node-affinity")[:1]:  # PVE allows one per resource
        prio = {n: p for n, p in rule.nodes.items() if n in candidates}
        if not rule.strict:
            prio.update({n: -1 for n in candidates if n not in prio})
        narrowed = narrowed or set(prio) != set(candidates)
        if prio:
            top = max(prio.values())
            prio = {n: p for n, p in prio.items() if p == top}
    for rule in enabled_rules(world, sid, "resource-affinity"):
        partners = {where[s] for s in rule.resources if s != sid and s in where}
        before = set(prio)
        if rule.affinity == "negative":
            prio = {n: p for n, p in prio.items() if n not in partners}
        elif partners:
            prio = {n: p for n, p in prio.items() if n in partners}
        narrowed = narrowed or set(prio) != before
    return sorted(prio, key=lambda n: (-prio[n], n)), narrowed


# -- the API -----------------------------------------------------------------


def digest(world) -> str:
    text = "".join(f"{r.name}{render(r, '')}" for r in _ordered(world))
    return hashlib.sha1(text.encode()).hexdigest()


def _ordered(world) -> list[SimHaRule]:
    return sorted(world.ha_rules.values(), key=lambda r: r.order)


def render(rule: SimHaRule, file_digest: str) -> dict:
    out: dict = {"rule": rule.name, "type": rule.type, "resources": ",".join(sorted(rule.resources)),
                 "order": rule.order, "digest": file_digest}
    if rule.type == "node-affinity":
        out["nodes"] = ",".join(f"{n}:{p}" if p else n for n, p in sorted(rule.nodes.items()))
        if rule.strict is not None:
            out["strict"] = int(rule.strict)
    else:
        out["affinity"] = rule.affinity
    if rule.disable:
        out["disable"] = 1
    if rule.comment:
        out["comment"] = rule.comment
    return out


def _supported(world, method: str, rule: str | None = None) -> None:
    if not getattr(world, "ha_rules_api", True):
        raise PveError(501, f"Method '{method} /cluster/ha/rules{'/' + rule if rule else ''}' not implemented")


async def rules_index(ctx, p):
    world = ctx.world
    _supported(world, "GET")
    d = digest(world)
    rows = [render(r, d) for r in sorted(world.ha_rules.values(), key=lambda r: r.name)
            if ("type" not in p or r.type == p["type"]) and ("resource" not in p or p["resource"] in r.resources)]
    return rows


async def rule_read(ctx, p):
    _supported(ctx.world, "GET", p["rule"])
    rule = ctx.world.ha_rules.get(p["rule"])
    if rule is None:
        raise PveError(500, f"no such ha rule '{p['rule']}'")
    return render(rule, digest(ctx.world))


def _parse_nodes(world, text: str) -> dict[str, int]:
    nodes: dict[str, int] = {}
    for item in (t for t in re.split(r"[,;\s]+", text) if t):
        name, _, prio = item.partition(":")
        if not re.fullmatch(r"[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?", name) or (prio and not prio.isdigit()):
            raise param_error({"nodes": f"value '{item}' does not look like a valid node name with optional priority"})
        nodes[name] = int(prio or 0)
    if not nodes:
        raise PveError(500, "no nodes were specified")
    missing = [n for n in sorted(nodes) if n not in world.nodes]
    if missing:
        raise PveError(500, f"cannot use non-existent node(s) {', '.join(missing)}.")
    return nodes


def _parse_resources(world, text: str) -> list[str]:
    sids = [t for t in re.split(r"[,;\s]+", text) if t]
    for sid in sids:
        if not SID_RE.match(sid):
            raise param_error({"resources": f"value '{sid}' does not look like a valid HA resource id"})
    if not sids:
        raise PveError(500, "no resources were specified")
    managed = {f"{'vm' if g.type == 'qemu' else 'ct'}:{g.vmid}" for g in world.guests.values() if g.ha}
    unmanaged = sorted(s for s in set(sids) if s not in managed)
    if unmanaged:
        raise PveError(500, f"cannot use unmanaged resource(s) {', '.join(unmanaged)}.")
    return sorted(set(sids))


def _apply(world, rule: SimHaRule, p: dict) -> None:
    allowed = TYPE_OPTIONS[rule.type]
    wrong = {k: f"option '{k}' is not allowed for type '{rule.type}'" for k in p
             if k in ("nodes", "strict", "affinity") and k not in allowed}
    if wrong:
        raise param_error(wrong)
    if "resources" in p:
        rule.resources = _parse_resources(world, p["resources"])
    if "nodes" in p:
        rule.nodes = _parse_nodes(world, p["nodes"])
    if "strict" in p:
        rule.strict = bool(p["strict"])
    if "affinity" in p:
        rule.affinity = p["affinity"]
    if "disable" in p:
        rule.disable = bool(p["disable"])
    if "comment" in p:
        rule.comment = p["comment"] or None


def _assert_feasible(world, rule: SimHaRule) -> None:
    """PVE's check_single_resource_reference for node-affinity: one rule per resource."""
    if rule.disable or rule.type != "node-affinity":
        return
    for other in world.ha_rules.values():
        if other.name == rule.name or other.disable or other.type != "node-affinity":
            continue
        shared = sorted(set(rule.resources) & set(other.resources))
        if shared:
            raise PveError(400, f"Rule '{rule.name}' is invalid.", {
                "resources": f"at least one resource is in another node affinity rule ('{other.name}': "
                             f"{', '.join(shared)})"})


async def rule_create(ctx, p):
    world = ctx.world
    _supported(world, "POST")
    name, kind = p["rule"], p["type"]
    if not CONFIGID_RE.match(name):
        raise param_error({"rule": f"invalid configuration ID '{name}'"})
    if kind == "node-affinity" and "nodes" not in p:
        raise param_error({"nodes": "property is missing and it is not optional"})
    if kind == "resource-affinity" and "affinity" not in p:
        raise param_error({"affinity": "property is missing and it is not optional"})
    if name in world.ha_rules:
        raise PveError(500, f"create ha rule failed: HA rule '{name}' already defined")
    rule = SimHaRule(name=name, type=kind, resources=[], order=max((r.order for r in world.ha_rules.values()),
                                                                     default=0) + 1)
    _apply(world, rule, {k: v for k, v in p.items() if k not in ("rule", "type")})
    _assert_feasible(world, rule)
    world.ha_rules[name] = rule
    world.ha_rules_changed()
    return None


async def rule_update(ctx, p):
    world = ctx.world
    _supported(world, "PUT", p["rule"])
    rule = world.ha_rules.get(p["rule"])
    if rule is None:
        raise PveError(500, f"update HA rules failed: HA rule '{p['rule']}' does not exist")
    if p["type"] != rule.type:
        raise param_error({"type": f"rule type '{p['type']}' does not match the rule's type '{rule.type}'"})
    if "digest" in p and p["digest"] != digest(world):
        raise PveError(500, "update HA rules failed: detected modified configuration - file changed by other "
                            "user? Try again.")
    changed = SimHaRule(**{k: getattr(rule, k) for k in SimHaRule.__dataclass_fields__})
    for key in (k for k in re.split(r"[,;\s]+", p.get("delete", "")) if k):
        if key in ("resources", "nodes", "affinity"):
            raise param_error({"delete": f"unable to delete required option '{key}'"})
        if key in ("strict", "disable", "comment"):
            setattr(changed, key, False if key == "disable" else None)
    _apply(world, changed, {k: v for k, v in p.items() if k not in ("rule", "type", "digest", "delete")})
    _assert_feasible(world, changed)
    world.ha_rules[rule.name] = changed
    world.ha_rules_changed()
    return None


async def rule_delete(ctx, p):
    _supported(ctx.world, "DELETE", p["rule"])
    if ctx.world.ha_rules.pop(p["rule"], None) is not None:
        ctx.world.ha_rules_changed()
    return None


# -- PVE 8: HA groups ------------------------------------------------------------
# With ha_rules_api False the node-affinity rules are what they were before the
# PVE 9 migration: HA groups (restricted = strict), named in each resource's `group`.


def group_of(world, sid: str) -> str | None:
    if getattr(world, "ha_rules_api", True):
        return None
    return next((r.name for r in _ordered(world) if r.type == "node-affinity" and sid in r.resources), None)


async def groups_index(ctx, p):
    world = ctx.world
    if getattr(world, "ha_rules_api", True):
        raise PveError(500, "cannot index groups: ha groups have been migrated to rules")
    d = digest(world)
    return [{"group": r.name, "type": "group", "digest": d, "restricted": int(bool(r.strict)),
             "nodes": ",".join(f"{n}:{p}" if p else n for n, p in sorted(r.nodes.items()))}
            | ({"comment": r.comment} if r.comment else {})
            for r in _ordered(world) if r.type == "node-affinity"]


_STR = P("string", optional=True)
_TYPE = P("string", enum=TYPES)
_AFFINITY = P("string", optional=True, enum=("positive", "negative"))
_COMMON = {"comment": _STR, "disable": P("boolean", optional=True), "nodes": _STR,
           "strict": P("boolean", optional=True), "affinity": _AFFINITY}
CREATE_PARAMS = {"rule": P("string"), "type": _TYPE, "resources": P("string")} | _COMMON
UPDATE_PARAMS = {"rule": P("string"), "type": _TYPE, "resources": _STR, "delete": _STR, "digest": _STR} | _COMMON
INDEX_PARAMS = {"type": P("string", optional=True, enum=TYPES), "resource": _STR}
READ_PARAMS = {"rule": P("string")}


def add_rule(world, name: str, kind: str, resources: list[str], nodes: dict[str, int] | None = None,
             strict: bool | None = None, affinity: str | None = None, comment: str | None = None) -> SimHaRule:
    """A rule as if created through the API (scenarios and faults; no checks, no rebalance)."""
    rule = SimHaRule(name=name, type=kind, resources=sorted(resources), nodes=dict(nodes or {}), strict=strict,
                     affinity=affinity, comment=comment,
                     order=max((r.order for r in world.ha_rules.values()), default=0) + 1)
    world.ha_rules[name] = rule
    return rule
