"""Pure parsers from PVE API `data` payloads to the model (no I/O).

Inputs are the already-unwrapped `data` of /cluster/status, /cluster/resources,
/cluster/ha/status/current, /cluster/ha/resources and /nodes/{n}/status.
Unknown fields are ignored; missing optional ones give None/0.
"""

from __future__ import annotations

import re
from typing import Any

from console.model import Guest, HaService, HaStatus, Node, ProxmoxState


def _l(x: Any) -> list:
    return [r for r in x if isinstance(r, dict)] if isinstance(x, list) else []


def _int(x: Any, default: int = 0) -> int:
    try:
        return int(x)
    except (TypeError, ValueError):
        return default


def _float(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return 0.0


def _bool(x: Any) -> bool:
    return x not in (None, False, 0, "0", "", "false")


def parse_cluster_status(rows: Any) -> dict:
    """-> {"name", "quorate", "expected", "nodes": {name: {"online","ip","local"}}}.
    A standalone node (no cluster) has no "cluster" row: then it is quorate by itself."""
    out = {"name": None, "quorate": None, "expected": None, "nodes": {}}
    for r in _l(rows):
        if r.get("type") == "cluster":
            out["name"] = r.get("name")
            out["quorate"] = _bool(r.get("quorate"))
            out["expected"] = _int(r.get("nodes"), 0) or None
        elif r.get("type") == "node" and r.get("name"):
            out["nodes"][str(r["name"])] = {"online": _bool(r.get("online")), "ip": r.get("ip"),
                                           "local": _bool(r.get("local"))}
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
    for r in _l(rows):
        rid, kind = str(r.get("id", "")), r.get("type")
        if rid == "quorum" or kind == "quorum":
            quorate = _bool(r.get("quorate")) or str(r.get("status", "")).upper() == "OK"
        elif rid == "master" or kind == "master":
            master = r.get("node")
            master_status = str(r["status"]).split(" ", 1)[0] if r.get("status") else None
        elif kind == "lrm" or rid.startswith("lrm:"):
            lrm.append((str(r.get("node") or rid[4:]), str(r.get("status", ""))))
        elif kind == "service" or rid.startswith("service:"):
            sid = str(r.get("sid") or rid.removeprefix("service:"))
            state = r.get("crm_state") or r.get("state") or str(r.get("status", "unknown")).split(" ", 1)[0]
            services.append(HaService(sid=sid, state=str(state), node=str(r.get("node", "")),
                                      request_state=r.get("request_state")))
    return HaStatus(quorate=quorate, master=master, master_status=master_status,
                    lrm=tuple(lrm), services=tuple(services))


def _tags(raw: Any) -> tuple[str, ...]:
    if not raw:
        return ()
    return tuple(t for t in re.split(r"[;, ]+", str(raw)) if t)


def parse_guests(resources: Any, ha: HaStatus | None, ha_resources: Any = None) -> tuple[Guest, ...]:
    """Guests from /cluster/resources rows of type qemu/lxc, with their HA state."""
    ha_state: dict[str, str] = {}
    for r in _l(ha_resources):
        if r.get("sid"):
            ha_state[str(r["sid"])] = str(r.get("state", "started"))
    if ha is not None:
        for s in ha.services:
            ha_state[s.sid] = s.state
    out = []
    for r in _l(resources):
        kind = r.get("type")
        if kind not in ("qemu", "lxc"):
            continue
        vmid = _int(r.get("vmid"), -1)
        if vmid < 0:
            continue
        prefix = "vm" if kind == "qemu" else "ct"
        out.append(Guest(
            vmid=vmid, name=str(r.get("name") or f"{prefix}{vmid}"), type=kind, node=str(r.get("node", "")),
            status=str(r.get("status", "unknown")), cpu=_float(r.get("cpu")), maxcpu=_int(r.get("maxcpu")),
            mem=_int(r.get("mem")), maxmem=_int(r.get("maxmem")), uptime=_int(r.get("uptime")),
            tags=_tags(r.get("tags")), ha_state=ha_state.get(f"{prefix}:{vmid}"),
            lock=r.get("lock") or None, template=_bool(r.get("template")),
        ))
    return tuple(sorted(out, key=lambda g: g.vmid))


def parse_versions(status: Any) -> tuple[str | None, str | None]:
    """/nodes/{n}/status -> (pve-manager version, running kernel release)."""
    if not isinstance(status, dict):
        return None, None
    pve = None
    m = re.match(r"pve-manager/([^/\s]+)", str(status.get("pveversion", "")))
    if m:
        pve = m.group(1)
    kernel = (status.get("current-kernel") or {}).get("release") if isinstance(status.get("current-kernel"), dict) else None
    if not kernel:
        parts = str(status.get("kversion", "")).split()
        kernel = parts[1] if len(parts) > 1 and parts[0] == "Linux" else None
    return pve, kernel


def parse_apt_versions(rows: Any) -> tuple[str | None, str | None]:
    """/nodes/{n}/apt/versions -> (pve-manager version, running kernel)."""
    pve = kernel = None
    for r in _l(rows):
        if r.get("RunningKernel") and not kernel:
            kernel = str(r["RunningKernel"])
        if r.get("Package") == "pve-manager":
            # ManagerVersion is "8.2.4/faa83925c9641325" (version/repoid): keep the version
            pve = str(r.get("ManagerVersion") or r.get("Version") or "").split("/")[0] or None
    return pve, kernel


def parse_nodes(resources: Any, status: dict, ha: HaStatus | None,
                extra: dict[str, dict]) -> tuple[Node, ...]:
    """Nodes from /cluster/resources type=node, merged with /cluster/status and
    per-node facts in `extra` ({name: {"pve_version","kernel","pending_updates"}})."""
    lrm = {n: lrm_state(t) for n, t in (ha.lrm if ha else ())}
    seen: dict[str, Node] = {}
    for r in _l(resources):
        if r.get("type") != "node":
            continue
        name = str(r.get("node") or str(r.get("id", "")).removeprefix("node/"))
        cs = status["nodes"].get(name, {})
        st = str(r.get("status", "unknown"))
        if cs and not cs["online"]:
            st = "offline"
        x = extra.get(name, {})
        seen[name] = Node(
            name=name, status=st, cpu=_float(r.get("cpu")), maxcpu=_int(r.get("maxcpu")),
            mem=_int(r.get("mem")), maxmem=_int(r.get("maxmem")), uptime=_int(r.get("uptime")),
            pve_version=x.get("pve_version"), kernel=x.get("kernel"), pending_updates=x.get("pending_updates"),
            ha_lrm=lrm.get(name), ip=cs.get("ip"), local=bool(cs.get("local")),
        )
    for name, cs in status["nodes"].items():  # in the cluster but missing from resources
        if name not in seen:
            seen[name] = Node(name=name, status="online" if cs["online"] else "offline", ip=cs.get("ip"),
                              local=bool(cs.get("local")), ha_lrm=lrm.get(name))
    return tuple(sorted(seen.values(), key=lambda n: n.name))


def build_state(cluster_status: Any, resources: Any, ha_rows: Any, ha_resources: Any,
                extra: dict[str, dict], endpoint: str | None) -> ProxmoxState:
    cs = parse_cluster_status(cluster_status)
    ha = parse_ha_status(ha_rows) if ha_rows is not None else None
    nodes = parse_nodes(resources, cs, ha, extra)
    online = sum(1 for n in nodes if n.status == "online")
    expected = cs["expected"] or len(nodes)
    quorate = cs["quorate"] if cs["quorate"] is not None else online > expected / 2
    return ProxmoxState(
        cluster_name=cs["name"], quorate=bool(quorate), votes=online, expected_votes=expected,
        nodes=nodes, guests=parse_guests(resources, ha, ha_resources), ha=ha, endpoint=endpoint,
    )
