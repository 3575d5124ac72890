"""The sim's Ceph JSON against real Ceph outputs (../shared/upstream-fixtures/ceph).

Rules: every key the modern (Pacific+) fixtures all have, the sim has too; for
every key both have, the JSON type is the same (numbers are one type: Ceph
prints 1 and 0.95 for the same field). Checked in several lab states: healthy,
noout set, an OSD down, a node down, recovering.
"""

from __future__ import annotations

import json

import pytest

from console.sim import ceph_json
from console.sim.world import World

MODERN_STATUS = [
    "zabbix/status1.json",
    "zabbix/status3.json",
    "rook/pkg_operator_ceph_disruption_clusterdisruption_osd_test__healthyCephStatusRemapped.json",
]
ALL_STATUS = MODERN_STATUS + [
    "zabbix/status2.json",
    "rook/pkg_daemon_ceph_client_status_test__CephStatusResponseRaw.json",
    "rook/pkg_operator_ceph_disruption_clusterdisruption_osd_test__healthyCephStatus.json",
    "rook/pkg_operator_ceph_disruption_clusterdisruption_osd_test__unHealthyCephStatus.json",
]
TREES = [
    "digitalocean-ceph_exporter/osd__testOSDTreeOutput.json",
    "rook/pkg_daemon_ceph_osd_replace_test__treeJSON_2.json",
]
# Maps whose keys are data (check codes, service names, event ids): compare values with values.
FREE_FORM = {"checks", "services", "progress_events", "pool_weights", "crush_node_flags"}
# Shapes that changed between releases: the old nested osdmap.osdmap has no flat counterpart.
RELEASE_CHANGED = {"osdmap.osdmap"}

# `ceph pg stat -f json`, `ceph osd dump -f json` and `ceph osd ok-to-stop -f json` have no
# upstream fixture; these key sets are from a real Ceph 16.2.15 cluster (real-daemons/ceph).
PG_STAT_KEYS = {"pg_ready", "pg_summary"}
PG_SUMMARY_KEYS = {"num_pg_by_state", "num_pgs", "num_bytes", "total_bytes", "total_avail_bytes", "total_used_bytes",
                   "total_used_raw_bytes"}
OSD_DUMP_KEYS = {
    "epoch", "fsid", "created", "modified", "last_up_change", "last_in_change", "flags", "flags_num", "flags_set",
    "crush_version", "full_ratio", "backfillfull_ratio", "nearfull_ratio", "cluster_snapshot", "pool_max", "max_osd",
    "require_min_compat_client", "min_compat_client", "require_osd_release", "pools", "osds", "osd_xinfo", "pg_upmap",
    "pg_upmap_items", "pg_temp", "primary_temp", "blocklist", "range_blocklist", "erasure_code_profiles",
    "removed_snaps_queue", "new_removed_snaps", "new_purged_snaps", "crush_node_flags", "device_class_flags",
    "stretch_mode",
}
OSD_DUMP_OSD_KEYS = {
    "osd", "uuid", "up", "in", "weight", "primary_affinity", "last_clean_begin", "last_clean_end", "up_from", "up_thru",
    "down_at", "lost_at", "public_addrs", "cluster_addrs", "heartbeat_back_addrs", "heartbeat_front_addrs",
    "public_addr",
    "cluster_addr", "heartbeat_back_addr", "heartbeat_front_addr", "state",
}

DF_KEYS = {"stats", "stats_by_class", "pools"}
DF_STATS_KEYS = {"total_bytes", "total_avail_bytes", "total_used_bytes", "total_used_raw_bytes", "total_used_raw_ratio",
                 "num_osds", "num_per_pool_osds", "num_per_pool_omap_osds"}
DF_POOL_STATS_KEYS = {"stored", "objects", "kb_used", "bytes_used", "percent_used", "max_avail"}
MON_DUMP_KEYS = {
    "epoch", "fsid", "modified", "created", "min_mon_release", "min_mon_release_name", "election_strategy",
    "disallowed_leaders: ", "stretch_mode", "tiebreaker_mon", "removed_ranks: ", "features", "mons", "quorum",
}
MON_DUMP_MON_KEYS = {"rank", "name", "public_addrs", "addr", "public_addr", "priority", "weight", "crush_location"}
MGR_STAT_KEYS = {"epoch", "available", "active_name", "num_standby"}


def jtype(v) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


def type_mismatches(mine, theirs, path: str = "") -> list[str]:
    """Paths where both documents have a value and the JSON types differ."""
    if path.strip(".") in RELEASE_CHANGED:
        return []
    if jtype(mine) != jtype(theirs):
        return [f"{path or '.'}: sim {jtype(mine)} vs real {jtype(theirs)}"]
    out: list[str] = []
    if isinstance(mine, dict):
        key = path.rsplit(".", 1)[-1]
        if key in FREE_FORM:
            for mv in mine.values():
                for tv in theirs.values():
                    out += type_mismatches(mv, tv, f"{path}.*")
        else:
            for k in mine.keys() & theirs.keys():
                out += type_mismatches(mine[k], theirs[k], f"{path}.{k}")
    elif isinstance(mine, list) and mine and theirs:
        for mv in mine:
            for tv in theirs:
                if (jtype(mv) == "object" and jtype(tv) == "object"
                        and mv.get("type", tv.get("type")) != tv.get("type", mv.get("type"))):
                    continue  # osd tree: compare hosts with hosts, OSDs with OSDs
                out += type_mismatches(mv, tv, f"{path}[]")
    return out


def load(shared_dir, rel: str):
    return json.loads((shared_dir / "upstream-fixtures" / "ceph" / rel).read_text())


def common_keys(docs: list[dict]) -> set[str]:
    keys = set(docs[0])
    for d in docs[1:]:
        keys &= set(d)
    return keys


def _state_healthy(w: World) -> str:
    return "healthy"


def _state_noout(w: World) -> str:
    w.set_ceph_flag("noout", True)
    return "noout"


def _state_osd_down(w: World) -> str:
    w.inject("osd-down", "1")
    w.advance(30)
    return "osd down"


def _state_node_down(w: World) -> str:
    w.inject("node-down", "pve1")
    w.advance(30)
    return "node down"


def _state_recovering(w: World) -> str:
    w.inject("osd-down", "2")
    w.advance(60)
    w.clear("osd-down", "2")
    w.inject("osd-up", "2")
    w.advance(8)
    return "recovering"


STATES = [_state_healthy, _state_noout, _state_osd_down, _state_node_down, _state_recovering]


@pytest.fixture(params=STATES, ids=lambda f: f.__name__.removeprefix("_state_"))
def world(request) -> World:
    w = World("seed", manual_clock=True)
    w.advance(1)
    request.param(w)
    return w


def test_states_differ_as_intended(world):
    doc = ceph_json.status(world)
    assert sum(s["count"] for s in doc["pgmap"]["pgs_by_state"]) == doc["pgmap"]["num_pgs"]
    assert doc["osdmap"]["num_up_osds"] == sum(1 for o in world.osds.values() if o.up)
    assert set(doc["health"]["checks"]) == {c["code"] for c in world.ceph_health()[1]}
    json.dumps(doc)  # serialisable


def test_status_has_every_key_of_modern_ceph(shared_dir, world):
    mine = ceph_json.status(world)
    modern = [load(shared_dir, f) for f in MODERN_STATUS]
    missing = common_keys(modern) - set(mine)
    assert not missing, f"top-level keys missing: {missing}"
    for section in ("health", "monmap", "osdmap", "pgmap", "fsmap", "mgrmap", "servicemap"):
        need = common_keys([d[section] for d in modern])
        assert not need - set(mine[section]), f"{section}: missing {need - set(mine[section])}"
    for doc in modern:
        for _code, check in doc["health"]["checks"].items():
            for mcode, mcheck in mine["health"]["checks"].items():
                assert set(check) <= set(mcheck), f"health.checks.{mcode} lacks {set(check) - set(mcheck)}"
                assert set(check["summary"]) <= set(mcheck["summary"])


@pytest.mark.parametrize("fixture", ALL_STATUS)
def test_status_types_match_real_ceph(shared_dir, world, fixture):
    assert type_mismatches(ceph_json.status(world), load(shared_dir, fixture)) == []


def test_health_detail_shape(shared_dir, world):
    mine = ceph_json.health_detail(world)
    real = load(shared_dir, "zabbix/health.json")
    assert set(real) <= set(mine)
    assert type_mismatches(mine, real) == []
    status3 = load(shared_dir, "zabbix/status3.json")["health"]
    assert type_mismatches(mine, status3) == []
    for check in mine["checks"].values():
        assert isinstance(check["detail"], list)
        assert all(set(d) == {"message"} and isinstance(d["message"], str) for d in check["detail"])


@pytest.mark.parametrize("fixture",
                         TREES + ["rook/pkg_daemon_ceph_osd_replace_test__treeJSON.json", "zabbix/osd_crush_tree.json"])
def test_osd_tree_types_match(shared_dir, world, fixture):
    assert type_mismatches(ceph_json.osd_tree(world), load(shared_dir, fixture)) == []


def test_osd_tree_has_the_keys_of_real_trees(shared_dir, world):
    mine = ceph_json.osd_tree(world)
    reals = [load(shared_dir, f) for f in TREES]
    assert set(mine) == {"nodes", "stray"}
    for kind in ("osd", "host", "root"):
        need = common_keys([n for r in reals for n in r["nodes"] if n["type"] == kind])
        have = [n for n in mine["nodes"] if n["type"] == kind]
        assert have, f"no {kind} in the sim's tree"
        for n in have:
            assert need <= set(n), f"{kind} node lacks {need - set(n)}"
    by_id = {n["id"]: n for n in mine["nodes"]}
    for n in mine["nodes"]:
        for c in n.get("children", []):
            assert c in by_id, f"child {c} of {n['name']} is not in the tree"
    osd_nodes = [n for n in mine["nodes"] if n["type"] == "osd"]
    assert {n["id"] for n in osd_nodes} == set(world.osds)
    assert {n["status"] for n in osd_nodes} <= {"up", "down"}
    assert [n["status"] == "up"
            for n in sorted(osd_nodes, key=lambda n: n["id"])] == [o.up for _, o in sorted(world.osds.items())]


def test_osd_df_matches_rook(shared_dir, world):
    mine = ceph_json.osd_df(world)
    real = load(shared_dir, "rook/pkg_operator_ceph_cluster_osd_osd_test__osdDFResults.json")
    assert set(real) == set(mine)
    assert set(real["summary"]) <= set(mine["summary"])
    for n in mine["nodes"]:
        assert set(real["nodes"][0]) <= set(n)
    assert type_mismatches(mine, real) == []
    assert mine["summary"]["total_kb"] == sum(n["kb"] for n in mine["nodes"])


def test_pg_stat_and_osd_dump_have_real_pacific_keys(world):
    pg = ceph_json.pg_stat(world)
    assert PG_STAT_KEYS <= set(pg) and PG_SUMMARY_KEYS <= set(pg["pg_summary"])
    assert sum(s["num"] for s in pg["pg_summary"]["num_pg_by_state"]) == pg["pg_summary"]["num_pgs"]
    dump = ceph_json.osd_dump(world)
    assert OSD_DUMP_KEYS <= set(dump)
    for o in dump["osds"]:
        assert OSD_DUMP_OSD_KEYS <= set(o)
        assert o["up"] in (0, 1) and o["in"] in (0, 1)
    assert dump["flags"].split(",") == [f for f in ceph_json.OSDMAP_FLAG_BITS if f in world.ceph.flags]
    assert dump["flags_num"] == sum(b for f, b in ceph_json.OSDMAP_FLAG_BITS.items() if f in world.ceph.flags)


def test_flags_string_and_bits_like_ceph():
    w = World("seed", manual_clock=True)
    # the default flags of a Pacific cluster give flags_num 5799936 (seen on a real 16.2.15)
    w.ceph.flags = {"sortbitwise", "recovery_deletes", "purged_snapdirs", "pglog_hardlimit"}
    assert ceph_json.osd_dump(w)["flags_num"] == 5799936
    w.set_ceph_flag("noout", True)
    d = ceph_json.osd_dump(w)
    assert d["flags"] == "noout,sortbitwise,recovery_deletes,purged_snapdirs,pglog_hardlimit"
    assert d["flags_set"] == sorted(d["flags_set"])
    checks = ceph_json.status(w)["health"]["checks"]
    assert "OSDMAP_FLAGS" in checks and "noout" in checks["OSDMAP_FLAGS"]["summary"]["message"]


def test_osdmap_epoch_and_quorum_move_like_ceph():
    w = World("seed", manual_clock=True)
    w.advance(1)
    s0 = ceph_json.status(w)
    w.inject("node-down", "pve3")
    w.advance(30)
    s1 = ceph_json.status(w)
    assert s1["osdmap"]["epoch"] > s0["osdmap"]["epoch"]
    assert s1["election_epoch"] > s0["election_epoch"]
    assert "pve3" not in s1["quorum_names"] and len(s1["quorum"]) == 2
    assert s1["quorum_age"] <= 30
    assert s1["osdmap"]["num_up_osds"] == s0["osdmap"]["num_up_osds"] - 1


def test_df_mon_dump_mgr_stat_have_real_pacific_keys(world):
    df = ceph_json.df(world)
    assert set(df) == DF_KEYS and DF_STATS_KEYS <= set(df["stats"])
    assert {p["name"] for p in df["pools"]} == {p.name for p in world.pools}
    for p in df["pools"]:
        assert set(p) == {"name", "id", "stats"} and DF_POOL_STATS_KEYS <= set(p["stats"])
    mon = ceph_json.mon_dump(world)
    assert MON_DUMP_KEYS <= set(mon)
    assert all(MON_DUMP_MON_KEYS <= set(m) for m in mon["mons"])
    assert [mon["mons"][i]["name"] for i in mon["quorum"]] == ceph_json.status(world)["quorum_names"]
    mgr = ceph_json.mgr_stat(world)
    assert set(mgr) == MGR_STAT_KEYS
    assert mgr["available"] == ceph_json.status(world)["mgrmap"]["available"]
