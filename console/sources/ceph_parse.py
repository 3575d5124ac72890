"""Pure parsers from Ceph's own JSON (CLI `-f json` or the PVE API) to the model.

They accept every shape seen in the wild: `ceph status` with the Luminous
nested `osdmap.osdmap` and the flat Nautilus+ `osdmap`; `mgrmap` with
`active_name`/`standbys` (old) or only `available`/`num_standbys` (new);
`fsmap.by_rank` with `up:standby` counts; `osd tree`, `osd df`, `osd df tree`,
`osd crush tree` and PVE's nested `/nodes/{n}/ceph/osd` tree. Unknown fields
are ignored and missing optional ones never raise.

When Ceph gives only a count (standby mgrs/MDS, mons out of quorum), the
model gets placeholder names in parentheses, e.g. "(standby 1)", so counts stay
right without inventing real daemon names.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any, Iterable

from console.inert import inert, inert_block, inert_tree
from console.model import CephCheck, CephPool, CephRates, CephState, MdsDaemon, Osd
from console.sources import shape as sh
from console.sources.shape import ShapeError

# Always-on osdmap flags that are not operator switches (never "left on").
INTERNAL_FLAGS = frozenset({
    "sortbitwise", "recovery_deletes", "purged_snapdirs", "pglog_hardlimit",
    "require_jewel_osds", "require_kraken_osds", "require_luminous_osds",
})


class CephParseError(ShapeError):
    """Input is not the JSON Ceph emits; the title names the command or endpoint."""


def loads(text: str, what: str) -> Any:
    """Ceph's JSON output of `what` (a command on a host), its strings made inert."""
    try:
        return inert_tree(json.loads(text))
    except ValueError as exc:
        head = inert(" ".join(text.split())[:80]) or "(empty)"
        raise CephParseError(what, f"not JSON ({exc.msg} at {exc.pos}); output began {head!r}") from None


def _d(x: Any, field: str = "a member") -> dict:
    return sh.opt_obj(x, sh.HERE, f"`{field}`")


def _l(x: Any, field: str = "a member") -> list:
    return sh.opt_list(x, sh.HERE, f"`{field}`")


def _int(x: Any, default: int = 0, field: str = "a count") -> int:
    return sh.integer(x, sh.HERE, field, default)


def _float(x: Any, default: float = 0.0, field: str = "a number") -> float:
    return sh.num(x, sh.HERE, field, default)


def _gi(d: dict, key: str, default: int = 0) -> int:
    """d[key] as a whole number (absent: default)."""
    return _int(d.get(key), default, key)


def _gf(d: dict, key: str, default: float = 0.0) -> float:
    return _float(d.get(key), default, key)


def clean_flags(flags: Iterable[str]) -> frozenset[str]:
    return frozenset(f.strip() for f in flags if f and f.strip() and f.strip() not in INTERNAL_FLAGS)


def split_flags(value: Any) -> frozenset[str]:
    """'noout,noscrub' or ['noout', ...] -> frozenset, internal flags dropped."""
    if isinstance(value, str):
        return clean_flags(value.split(","))
    if isinstance(value, list):
        return clean_flags(str(v) for v in value)
    return frozenset()


_FLAGS_SUMMARY = re.compile(r"^([\w,\-]+) flag\(s\) set")


def flags_from_checks(checks: Iterable[CephCheck]) -> frozenset[str]:
    """Pacific reports osdmap flags only as the OSDMAP_FLAGS health check."""
    for c in checks:
        if c.code == "OSDMAP_FLAGS":
            m = _FLAGS_SUMMARY.match(c.summary)
            if m:
                return split_flags(m.group(1))
    return frozenset()


# ------------------------------------------------------------------- status


def parse_checks(health: dict) -> tuple[CephCheck, ...]:
    out = []
    checks = health.get("checks")
    if isinstance(checks, dict):
        items = checks.items()
    elif isinstance(checks, list):  # very old releases: list of {"summary", "severity"}
        items = ((str(c.get("type") or c.get("code") or f"CHECK{i}"), c) for i, c in enumerate(checks) if isinstance(c, dict))
    else:
        items = ()
    for code, body in items:
        body = _d(body, str(code))
        summary = body.get("summary")
        text = summary.get("message") if isinstance(summary, dict) else summary
        detail = tuple(str(d.get("message", d)) if isinstance(d, dict) else str(d) for d in _l(body.get("detail"), "detail"))
        out.append(CephCheck(code=str(code), severity=str(body.get("severity", "HEALTH_WARN")),
                             summary=str(text or code), detail=detail))
    return tuple(out)


def _osdmap(status: dict) -> dict:
    om = _d(status.get("osdmap"), "osdmap")
    inner = om.get("osdmap")
    return inner if isinstance(inner, dict) else om  # Luminous nests it


def _mons(status: dict, quorum: tuple[str, ...]) -> tuple[str, ...]:
    monmap = _d(status.get("monmap"), "monmap")
    names = tuple(str(m.get("name")) for m in _l(monmap.get("mons"), "mons") if isinstance(m, dict) and m.get("name") is not None)
    if names:
        return names
    num = _gi(monmap, "num_mons", len(quorum))
    return quorum + tuple(f"(unnamed mon {i + 1})" for i in range(max(0, num - len(quorum))))


def _mgr(status: dict) -> tuple[str | None, bool, tuple[str, ...]]:
    mgr = _d(status.get("mgrmap"), "mgrmap")
    active = mgr.get("active_name") or None
    standbys = tuple(str(s.get("name")) for s in _l(mgr.get("standbys"), "standbys") if isinstance(s, dict) and s.get("name") is not None)
    if not standbys and "num_standbys" in mgr:
        standbys = tuple(f"(standby {i + 1})" for i in range(_gi(mgr, "num_standbys")))
    return (str(active) if active else None), bool(mgr.get("available", False)), standbys


def _mds(status: dict) -> tuple[MdsDaemon, ...]:
    fsmap = _d(status.get("fsmap"), "fsmap")
    out = [MdsDaemon(name=str(r.get("name", f"rank{r.get('rank', '?')}")), state=str(r.get("status", "unknown")),
                     fs=str(r["filesystem_id"]) if "filesystem_id" in r else None)
           for r in _l(fsmap.get("by_rank"), "by_rank") if isinstance(r, dict)]
    out += [MdsDaemon(name=f"(standby {i + 1})", state="up:standby") for i in range(_gi(fsmap, "up:standby"))]
    return tuple(out)


def _rates(pg: dict) -> CephRates:
    return CephRates(
        read_bytes_sec=_gi(pg, "read_bytes_sec"), write_bytes_sec=_gi(pg, "write_bytes_sec"),
        read_op_per_sec=_gi(pg, "read_op_per_sec"), write_op_per_sec=_gi(pg, "write_op_per_sec"),
        recovering_bytes_per_sec=_gi(pg, "recovering_bytes_per_sec"),
        recovering_objects_per_sec=_gi(pg, "recovering_objects_per_sec"),
        degraded_objects=_gi(pg, "degraded_objects"), degraded_total=_gi(pg, "degraded_total"),
        misplaced_objects=_gi(pg, "misplaced_objects"), misplaced_total=_gi(pg, "misplaced_total"),
    )


@sh.parser("ceph status")
def parse_status(status: Any) -> CephState:
    """`ceph status -f json` (any release) or PVE `/cluster/ceph/status`."""
    status = sh.obj(status, sh.HERE, "the answer")
    health = sh.obj(sh.need(status, "health", sh.HERE, "the status"), sh.HERE, "`health`")
    checks = parse_checks(health)
    om = _osdmap(status)
    pg = _d(status.get("pgmap"), "pgmap")
    quorum = tuple(str(q) for q in _l(status.get("quorum_names"), "quorum_names"))
    mgr_active, mgr_available, mgr_standbys = _mgr(status)
    flags = split_flags(om.get("flags")) | flags_from_checks(checks)
    pg_states = tuple((str(s.get("state_name")), _gi(s, "count"))
                      for s in _l(pg.get("pgs_by_state"), "pgs_by_state") if isinstance(s, dict) and s.get("state_name"))
    return CephState(
        health=str(health.get("status") or health.get("overall_status") or "HEALTH_UNKNOWN"),
        checks=checks,
        fsid=status.get("fsid") or None,
        mons=_mons(status, quorum),
        quorum=quorum,
        mgr_active=mgr_active, mgr_available=mgr_available, mgr_standbys=mgr_standbys,
        mds=_mds(status),
        num_osds=_gi(om, "num_osds"), num_up_osds=_gi(om, "num_up_osds"),
        num_in_osds=_gi(om, "num_in_osds"),
        flags=flags,
        pg_states=pg_states,
        num_pgs=_gi(pg, "num_pgs", sum(n for _, n in pg_states)),
        bytes_total=_gi(pg, "bytes_total"), bytes_used=_gi(pg, "bytes_used"),
        bytes_avail=_gi(pg, "bytes_avail"),
        rates=_rates(pg),
    )


@sh.parser("ceph health detail")
def parse_health_detail(health: Any) -> dict[str, tuple[str, ...]]:
    """`ceph health detail -f json` -> {code: detail lines}."""
    return {c.code: c.detail for c in parse_checks(sh.obj(health, sh.HERE, "the answer")) if c.detail}


def with_health_detail(state: CephState, detail: dict[str, tuple[str, ...]]) -> CephState:
    if not detail:
        return state
    return replace(state, checks=tuple(replace(c, detail=detail.get(c.code, c.detail)) for c in state.checks))


# --------------------------------------------------------------------- OSDs


def _osd_from_node(n: dict, host: str | None, in_hint: bool | None = None) -> Osd:
    reweight = _gf(n, "reweight", 1.0)
    if "in" in n:
        in_ = bool(_gi(n, "in"))
    elif in_hint is not None:
        in_ = in_hint
    else:
        in_ = reweight > 0
    status = str(n.get("status", "")).lower()
    size = _gi(n, "kb") * 1024 or _gi(n, "total_space") or _gi(n, "size")
    used = _gi(n, "kb_used") * 1024 or _gi(n, "bytes_used") or _gi(n, "used")
    util = n.get("utilization", n.get("percent_used"))
    return Osd(
        id=_gi(n, "id", -1), host=host or (str(n["host"]) if n.get("host") else None),
        up=status == "up", in_=in_,
        device_class=n.get("device_class") or None,
        size=size, used=used,
        utilization=_float(util, (100.0 * used / size) if size else 0.0),
        pgs=_gi(n, "pgs"), reweight=reweight,
    )


@sh.parser("ceph osd tree")
def parse_osd_tree(tree: Any) -> tuple[Osd, ...]:
    """`ceph osd tree|df|df tree|crush tree -f json`: flat `nodes` with children ids.
    The host of an OSD is its nearest ancestor of type host (else its parent)."""
    tree = sh.obj(tree, sh.HERE, "the answer")
    nodes = sh.objects(sh.need(tree, "nodes", sh.HERE, "the OSD tree"), sh.HERE, "`nodes`")
    stray = sh.opt_objects(tree.get("stray"), sh.HERE, "`stray`")
    by_id = {n.get("id"): n for n in nodes}
    parent: dict[Any, Any] = {}
    for n in nodes:
        for child in _l(n.get("children"), "children"):
            parent[child] = n.get("id")

    def host_of(osd_id: Any) -> str | None:
        pid, first = parent.get(osd_id), None
        while pid is not None:
            p = by_id.get(pid, {})
            first = first or p.get("name")
            if p.get("type") == "host":
                return str(p.get("name"))
            pid = parent.get(pid)
        return str(first) if first else None

    osds = [_osd_from_node(n, host_of(n.get("id"))) for n in nodes + stray
            if n.get("type") == "osd" and _gi(n, "id", -1) >= 0]
    seen: dict[int, Osd] = {}
    for o in osds:
        seen.setdefault(o.id, o)
    return tuple(sorted(seen.values(), key=lambda o: o.id))


@sh.parser("ceph /nodes/NODE/ceph/osd")
def parse_pve_osd_tree(data: Any) -> tuple[tuple[Osd, ...], frozenset[str]]:
    """PVE `/nodes/{n}/ceph/osd`: {"root": nested tree, "flags": "noout,..."}."""
    data = sh.obj(data, sh.HERE)
    sh.obj(sh.need(data, "root", sh.HERE), sh.HERE, "`root`")
    osds: dict[int, Osd] = {}

    def walk(node: dict, host: str | None) -> None:
        kind = node.get("type")
        if kind == "host":
            host = str(node.get("name"))
        if kind == "osd" and _gi(node, "id", -1) >= 0:
            o = _osd_from_node(node, node.get("host") or host)
            osds.setdefault(o.id, o)
        for child in _l(node.get("children"), "children"):
            if isinstance(child, dict):
                walk(child, host)

    walk(_d(data.get("root"), "root"), None)
    return tuple(sorted(osds.values(), key=lambda o: o.id)), split_flags(data.get("flags"))


@sh.parser("ceph osd dump")
def merge_osd_dump(osds: tuple[Osd, ...], dump: Any) -> tuple[tuple[Osd, ...], frozenset[str], dict[str, tuple[int, int]]]:
    """Apply `ceph osd dump -f json`: authoritative up/in per OSD, the osdmap
    flags, and per-pool (size, min_size)."""
    dump = sh.obj(dump, sh.HERE, "the answer")
    state = {_gi(o, "osd", -1): (bool(_gi(o, "up")), bool(_gi(o, "in")))
             for o in _l(dump.get("osds"), "osds") if isinstance(o, dict)}
    merged = tuple(replace(o, up=state[o.id][0], in_=state[o.id][1]) if o.id in state else o for o in osds)
    known = {o.id for o in osds}
    merged += tuple(Osd(id=i, host=None, up=u, in_=n) for i, (u, n) in sorted(state.items()) if i >= 0 and i not in known)
    pools = {str(p.get("pool_name")): (_gi(p, "size"), _gi(p, "min_size"))
             for p in _l(dump.get("pools"), "pools") if isinstance(p, dict) and p.get("pool_name")}
    return merged, split_flags(dump.get("flags")), pools


def merge_osd_usage(osds: tuple[Osd, ...], usage: tuple[Osd, ...]) -> tuple[Osd, ...]:
    """Size/used/utilization/PG count from `ceph osd df` onto the tree's OSDs."""
    by_id = {u.id: u for u in usage}
    out = []
    for o in osds:
        u = by_id.get(o.id)
        out.append(replace(o, size=u.size, used=u.used, utilization=u.utilization, pgs=u.pgs,
                           device_class=o.device_class or u.device_class) if u else o)
    return tuple(out)


@sh.parser("ceph /cluster/ceph/flags")
def parse_pve_flags(data: Any) -> frozenset[str]:
    """PVE `/cluster/ceph/flags`: [{"name": "noout", "value": true|1, ...}]."""
    return clean_flags(str(f.get("name")) for f in _l(data)
                       if isinstance(f, dict) and f.get("value") not in (None, False, 0, "0", ""))


# -------------------------------------------------------------------- pools


@sh.parser("ceph df")
def parse_df_pools(df: Any, sizes: dict[str, tuple[int, int]] | None = None) -> tuple[CephPool, ...]:
    """`ceph df -f json` pools (or PVE's pool list: name/pool/bytes_used/percent_used)."""
    sizes = sizes or {}
    rows = _l(df.get("pools"), "pools") if isinstance(df, dict) else sh.opt_list(df, sh.HERE, "the answer")
    out = []
    for p in rows:
        if not isinstance(p, dict):
            continue
        name = str(p.get("name") or p.get("pool_name") or "")
        st = _d(p.get("stats"), "stats") or p
        pct = 100.0 * _gf(st, "percent_used")  # Ceph and PVE give a 0..1 ratio
        size, min_size = sizes.get(name, (None, None))
        out.append(CephPool(
            name=name, id=_int(p.get("id", p.get("pool"))),
            stored=_int(st.get("stored", st.get("bytes_used"))),
            used=_int(st.get("bytes_used", st.get("stored"))),
            percent_used=pct, max_avail=_gi(st, "max_avail"),
            size=_gi(p, "size") or size, min_size=_gi(p, "min_size") or min_size,
        ))
    return tuple(out)


@sh.parser("ceph mon dump")
def parse_mon_dump(dump: Any) -> tuple[str, ...]:
    mons = _l(sh.obj(dump, sh.HERE, "the answer").get("mons"), "mons")
    return tuple(str(m.get("name")) for m in mons if isinstance(m, dict) and m.get("name"))


@sh.parser("ceph mgr stat")
def parse_mgr_stat(stat: Any) -> str | None:
    """`ceph mgr stat -f json` -> the active mgr's name."""
    name = sh.obj(stat, sh.HERE, "the answer").get("active_name")
    return str(name) if name else None


def parse_ok_to_stop(stdout: str, stderr: str, exit_status: int) -> tuple[bool, dict | str]:
    """`ceph osd|mon|mds ok-to-stop ... -f json`: exit 0 safe; exit 16 (EBUSY)
    not safe, with JSON still on stdout for OSDs since Pacific; mon/mds
    answer in text on stderr."""
    safe = exit_status == 0
    text = stdout.strip()
    if text:
        try:
            return safe, inert_tree(json.loads(text))
        except ValueError:
            return safe, inert_block(text)
    return safe, inert_block(stderr.strip())


@sh.parser("ceph /nodes/NODE/ceph/pool")
def parse_pve_pools(rows: Any) -> tuple[CephPool, ...]:
    """/nodes/{n}/ceph/pool. PVE gives percent_used as a fraction (0.0123 = 1.23 %)."""
    pools = []
    for r in _l(rows):
        if not isinstance(r, dict) or "pool_name" not in r:
            continue
        pct = _gf(r, "percent_used")
        used = _gi(r, "bytes_used")
        pools.append(CephPool(name=str(r["pool_name"]), id=_gi(r, "pool"), stored=used, used=used,
                              percent_used=pct * 100 if pct <= 1.0 else pct,
                              size=_gi(r, "size") or None, min_size=_gi(r, "min_size") or None))
    return tuple(sorted(pools, key=lambda p: p.id))


@sh.parser("ceph /nodes/NODE/ceph/mgr|mds|mon")
def parse_pve_daemons(mgr_rows: Any, mds_rows: Any, mon_rows: Any) -> dict[str, Any]:
    """Names and roles from /nodes/{n}/ceph/mgr|mds|mon (Pacific's status JSON has none)."""
    out: dict[str, Any] = {}
    mgrs = [r for r in _rows(mgr_rows) if isinstance(r, dict) and r.get("name")]
    if mgrs:
        active = [str(r["name"]) for r in mgrs if str(r.get("state", "")).startswith("active")]
        out["mgr_active"] = active[0] if active else None
        out["mgr_standbys"] = tuple(str(r["name"]) for r in mgrs if str(r.get("state", "")) == "standby")
    mds = [r for r in _rows(mds_rows) if isinstance(r, dict) and r.get("name")]
    if mds:
        out["mds"] = tuple(MdsDaemon(str(r["name"]), str(r.get("state") or "unknown")) for r in mds)
    mons = [r for r in _rows(mon_rows) if isinstance(r, dict) and r.get("name")]
    if mons:
        out["mons"] = tuple(str(r["name"]) for r in mons)
        if any("quorum" in r for r in mons):
            out["quorum"] = tuple(str(r["name"]) for r in mons if r.get("quorum"))
    return out


def _rows(x: Any) -> list:
    """An optional PVE list (older PVE, or an error page): anything but a list is no list."""
    return x if isinstance(x, list) else []
