"""Pure parsers from PVE API `data` payloads to the model (no I/O).

Inputs are the already-unwrapped `data` of /cluster/status, /cluster/resources,
/cluster/ha/status/current, /cluster/ha/resources and /nodes/{n}/status.
What a layer needs is checked (console.sources.shape): /cluster/status and
/cluster/resources must be lists of objects; a field that is present must have
its type (finite numbers, strings); unknown fields are ignored and missing
optional ones give None/0.
"""

from __future__ import annotations

import re
from typing import Any

from console.inert import cap
from console.model import Guest, HaRule, HaService, HaStatus, Node, ProxmoxState
from console.sources import shape as sh

STATUS = "proxmox /cluster/status"
RESOURCES = "proxmox /cluster/resources"
HA_STATUS = "proxmox /cluster/ha/status/current"
HA_RESOURCES = "proxmox /cluster/ha/resources"
HA_RULES = "proxmox /cluster/ha/rules"
HA_GROUPS = "proxmox /cluster/ha/groups"
RULE_KINDS = ("node-affinity", "resource-affinity")


def _opt_rows(x: Any, where: str) -> list[dict]:
    """An optional endpoint's rows (HA: absent on a cluster without it)."""
    return sh.opt_objects(x, where, "data")


def parse_cluster_status(rows: Any) -> dict:
    """-> {"name", "quorate", "expected", "nodes": {name: {"online","ip","local"}}}.
    A standalone node (no cluster) has no "cluster" row: then it is quorate by itself."""
    out = {"name": None, "quorate": None, "expected": None, "nodes": {}}
    w = STATUS
    for r in sh.objects(rows, w):
        if r.get("type") == "cluster":
            out["name"] = sh.opt_text(r.get("name"), w, "name")
            out["quorate"] = sh.flag(r.get("quorate"), w, "quorate")
            out["expected"] = sh.integer(r.get("nodes"), w, "nodes", 0, lo=0) or None
        elif r.get("type") == "node" and r.get("name"):
            out["nodes"][sh.text(r["name"], w, "name")] = {
                "online": sh.flag(r.get("online"), w, "online"), "ip": sh.opt_text(r.get("ip"), w, "ip"),
                "local": sh.flag(r.get("local"), w, "local")}
    return out


def lrm_state(text: str | None) -> str | None:
    """LRM status text ("active (…)", "maintenance mode", "wait_for_agent_lock") -> short state."""
    if not text:
        return None
    if "maintenance" in text:
        return "maintenance"
    # PVE writes "pve1 (active, Wed Nov 25 09:10:11 2026)": the state is inside the parentheses
    if "(" in text:
        inner = text.split("(", 1)[1].split(",", 1)[0].rstrip(")").strip()
        if inner:
            return "dead" if "dead" in inner else inner
    return text.split(" ", 1)[0].strip() or None


def parse_ha_status(rows: Any) -> HaStatus:
    quorate, master, master_status = False, None, None
    lrm: list[tuple[str, str]] = []
    services: list[HaService] = []
    w = HA_STATUS
    for r in _opt_rows(rows, w):
        rid, kind = sh.text(r.get("id"), w, "id"), r.get("type")
        status = sh.text(r.get("status"), w, "status")
        if rid == "quorum" or kind == "quorum":
            quorate = sh.flag(r.get("quorate"), w, "quorate") or status.upper() == "OK"
        elif rid == "master" or kind == "master":
            master = sh.opt_text(r.get("node"), w, "node")
            master_status = status.split(" ", 1)[0] if status else None
        elif kind == "lrm" or rid.startswith("lrm:"):
            lrm.append((sh.text(r.get("node"), w, "node") or rid[4:], status))
        elif kind == "service" or rid.startswith("service:"):
            sid = sh.text(r.get("sid"), w, "sid") or rid.removeprefix("service:")
            state = (sh.text(r.get("crm_state"), w, "crm_state") or sh.text(r.get("state"), w, "state")
                     or (status or "unknown").split(" ", 1)[0])
            services.append(HaService(sid=sid, state=state, node=sh.text(r.get("node"), w, "node"),
                                      request_state=sh.opt_text(r.get("request_state"), w, "request_state")))
    return HaStatus(quorate=quorate, master=master, master_status=master_status,
                    lrm=tuple(lrm), services=tuple(services))


def _tags(raw: Any) -> tuple[str, ...]:
    text = sh.text(raw, RESOURCES, "tags")
    return tuple(t for t in re.split(r"[;, ]+", text) if t)


def parse_guests(resources: Any, ha: HaStatus | None, ha_resources: Any = None) -> tuple[Guest, ...]:
    """Guests from /cluster/resources rows of type qemu/lxc, with their HA state."""
    ha_state: dict[str, str] = {}
    no_failback: set[str] = set()
    for r in _opt_rows(ha_resources, HA_RESOURCES):
        if r.get("sid"):
            sid = sh.text(r["sid"], HA_RESOURCES, "sid")
            ha_state[sid] = sh.text(r.get("state"), HA_RESOURCES, "state", "started")
            if "failback" in r and not sh.flag(r.get("failback"), HA_RESOURCES, "failback"):
                no_failback.add(sid)  # PVE 9; absent (PVE 8, groups' nofailback) counts as on
    if ha is not None:
        for s in ha.services:
            ha_state[s.sid] = s.state
    out = []
    w = RESOURCES
    for r in sh.objects(resources, w):
        kind = r.get("type")
        if kind not in ("qemu", "lxc"):
            continue
        vmid = sh.integer(r.get("vmid"), w, "vmid", -1)
        if vmid < 0:
            continue
        prefix = "vm" if kind == "qemu" else "ct"
        out.append(Guest(
            vmid=vmid, name=sh.text(r.get("name"), w, "name") or f"{prefix}{vmid}", type=kind,
            node=sh.text(r.get("node"), w, "node"), status=sh.text(r.get("status"), w, "status", "unknown"),
            cpu=sh.num(r.get("cpu"), w, "cpu"), maxcpu=sh.integer(r.get("maxcpu"), w, "maxcpu"),
            mem=sh.integer(r.get("mem"), w, "mem"), maxmem=sh.integer(r.get("maxmem"), w, "maxmem"),
            uptime=sh.integer(r.get("uptime"), w, "uptime"),
            tags=_tags(r.get("tags")), ha_state=ha_state.get(f"{prefix}:{vmid}"),
            lock=sh.opt_text(r.get("lock"), w, "lock"), template=sh.flag(r.get("template"), w, "template"),
            ha_failback=f"{prefix}:{vmid}" not in no_failback,
        ))
    return tuple(sorted(out, key=lambda g: g.vmid))


def parse_versions(status: Any, node: str = "NODE") -> tuple[str | None, str | None]:
    """/nodes/{n}/status -> (pve-manager version, running kernel release)."""
    w = f"proxmox /nodes/{node}/status"
    status = sh.obj(status, w)
    pve = None
    m = re.match(r"pve-manager/([^/\s]+)", sh.text(status.get("pveversion"), w, "pveversion"))
    if m:
        pve = m.group(1)
    current = sh.opt_obj(status.get("current-kernel"), w, "current-kernel")
    kernel = sh.opt_text(current.get("release"), w, "current-kernel.release")
    if not kernel:
        parts = sh.text(status.get("kversion"), w, "kversion").split()
        kernel = parts[1] if len(parts) > 1 and parts[0] == "Linux" else None
    return pve, kernel


def parse_apt_versions(rows: Any, node: str = "NODE") -> tuple[str | None, str | None]:
    """/nodes/{n}/apt/versions -> (pve-manager version, running kernel)."""
    w = f"proxmox /nodes/{node}/apt/versions"
    pve = kernel = None
    for r in sh.objects(rows, w):
        if r.get("RunningKernel") and not kernel:
            kernel = sh.text(r["RunningKernel"], w, "RunningKernel")
        if r.get("Package") == "pve-manager":
            # ManagerVersion is "8.2.4/faa83925c9641325" (version/repoid): keep the version
            version = sh.text(r.get("ManagerVersion"), w, "ManagerVersion") or sh.text(r.get("Version"), w, "Version")
            pve = version.split("/")[0] or None
    return pve, kernel


def parse_nodes(resources: Any, status: dict, ha: HaStatus | None,
                extra: dict[str, dict]) -> tuple[Node, ...]:
    """Nodes from /cluster/resources type=node, merged with /cluster/status and
    per-node facts in `extra` ({name: {"pve_version","kernel","pending_updates"}})."""
    lrm = {n: lrm_state(t) for n, t in (ha.lrm if ha else ())}
    seen: dict[str, Node] = {}
    w = RESOURCES
    for r in sh.objects(resources, w):
        if r.get("type") != "node":
            continue
        name = sh.text(r.get("node"), w, "node") or sh.text(r.get("id"), w, "id").removeprefix("node/")
        cs = status["nodes"].get(name, {})
        st = sh.text(r.get("status"), w, "status", "unknown")
        if cs and not cs["online"]:
            st = "offline"
        x = extra.get(name, {})
        seen[name] = Node(
            name=name, status=st, cpu=sh.num(r.get("cpu"), w, "cpu"), maxcpu=sh.integer(r.get("maxcpu"), w, "maxcpu"),
            mem=sh.integer(r.get("mem"), w, "mem"), maxmem=sh.integer(r.get("maxmem"), w, "maxmem"),
            uptime=sh.integer(r.get("uptime"), w, "uptime"),
            pve_version=x.get("pve_version"), kernel=x.get("kernel"), pending_updates=x.get("pending_updates"),
            ha_lrm=lrm.get(name), ip=cs.get("ip"), local=bool(cs.get("local")),
        )
    for name, cs in status["nodes"].items():  # in the cluster but missing from resources
        if name not in seen:
            seen[name] = Node(name=name, status="online" if cs["online"] else "offline", ip=cs.get("ip"),
                              local=bool(cs.get("local")), ha_lrm=lrm.get(name))
    return tuple(sorted(seen.values(), key=lambda n: n.name))


def _split(text: str) -> list[str]:
    return [t for t in re.split(r"[,;\s]+", text) if t]


def parse_node_list(text: str, where: str, field: str = "nodes") -> tuple[tuple[str, int], ...]:
    """PVE's pve-ha-node-list "pve1:2,pve2" -> (("pve1", 2), ("pve2", 0))."""
    out = []
    for item in _split(text):
        name, _, prio = item.partition(":")
        if not name:
            raise sh.ShapeError(where, f"`{field}` has an entry without a node name: {cap(item, 40)!r}")
        out.append((name, sh.integer(prio or None, where, f"{field} priority of {name}", 0, lo=0)))
    return tuple(out)


def parse_ha_rules(rows: Any) -> tuple[HaRule, ...]:
    """/cluster/ha/rules (PVE 9): node-affinity and resource-affinity rules.
    A rule type this console does not know is kept out (it cannot reason about it)."""
    w = HA_RULES
    out = []
    for r in sh.objects(rows, w):
        kind = sh.text(r.get("type"), w, "type")
        if kind not in RULE_KINDS:
            continue
        name = sh.text(r.get("rule"), w, "rule")
        if not name:
            raise sh.ShapeError(w, "a rule without its `rule` id")
        affinity = sh.opt_text(r.get("affinity"), w, "affinity")
        if kind == "resource-affinity" and affinity not in ("positive", "negative"):
            raise sh.ShapeError(w, f"rule {name}: `affinity` must be positive or negative, got {affinity!r}")
        out.append(HaRule(
            name=name, kind=kind, resources=tuple(_split(sh.text(r.get("resources"), w, "resources"))),
            nodes=parse_node_list(sh.text(r.get("nodes"), w, "nodes"), w) if kind == "node-affinity" else (),
            strict=sh.flag(r.get("strict"), w, "strict"), affinity=affinity if kind == "resource-affinity" else None,
            disabled=sh.flag(r.get("disable"), w, "disable"), origin="rule",
            comment=sh.opt_text(r.get("comment"), w, "comment")))
    return tuple(sorted(out, key=lambda r: r.name))


def parse_ha_groups(rows: Any, ha_resources: Any) -> tuple[HaRule, ...]:
    """/cluster/ha/groups (PVE 8) read as the node-affinity rules PVE 9 migrates them
    to: a restricted group is strict, an unrestricted one non-strict; its resources
    are the HA resources whose `group` names it."""
    members: dict[str, list[str]] = {}
    for r in _opt_rows(ha_resources, HA_RESOURCES):
        group = sh.opt_text(r.get("group"), HA_RESOURCES, "group")
        if group and r.get("sid"):
            members.setdefault(group, []).append(sh.text(r["sid"], HA_RESOURCES, "sid"))
    w = HA_GROUPS
    out = []
    for r in sh.objects(rows, w):
        name = sh.text(r.get("group"), w, "group")
        if not name:
            raise sh.ShapeError(w, "a group without its `group` name")
        out.append(HaRule(
            name=name, kind="node-affinity", resources=tuple(sorted(members.get(name, ()))),
            nodes=parse_node_list(sh.text(r.get("nodes"), w, "nodes"), w),
            strict=sh.flag(r.get("restricted"), w, "restricted"), origin="group",
            comment=sh.opt_text(r.get("comment"), w, "comment")))
    return tuple(sorted(out, key=lambda r: r.name))


def build_state(cluster_status: Any, resources: Any, ha_rows: Any, ha_resources: Any,
                extra: dict[str, dict], endpoint: str | None,
                ha_rules: tuple[HaRule, ...] | None = None) -> ProxmoxState:
    cs = parse_cluster_status(cluster_status)
    ha = parse_ha_status(ha_rows) if ha_rows is not None else None
    nodes = parse_nodes(resources, cs, ha, extra)
    online = sum(1 for n in nodes if n.status == "online")
    expected = cs["expected"] or len(nodes)
    quorate = cs["quorate"] if cs["quorate"] is not None else online > expected / 2
    return ProxmoxState(
        cluster_name=cs["name"], quorate=bool(quorate), votes=online, expected_votes=expected,
        nodes=nodes, guests=parse_guests(resources, ha, ha_resources), ha=ha, endpoint=endpoint,
        ha_rules=ha_rules,
    )
