"""ceph_parse against real Ceph JSON from ../shared/upstream-fixtures/ceph."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.sources import ceph_parse as cp
from console.sources.shape import ShapeError

FIX = Path(__file__).resolve().parents[2] / ".." / "shared" / "upstream-fixtures" / "ceph"
if not FIX.is_dir():
    pytest.skip(f"upstream Ceph fixtures not found at {FIX} (../shared is absent)", allow_module_level=True)


def load(rel: str):
    return json.loads((FIX / rel).read_text())


STATUSES = {
    "zabbix/status1.json": dict(health="HEALTH_OK", osds=(3, 3, 3), pgs=33, quorum=("node1", "node2", "node3"),
                                mgr_standbys=2, mds_standby=3),
    "zabbix/status2.json": dict(health="HEALTH_OK", osds=(283, 283, 283), pgs=6976, quorum=("", "", ""),
                                mgr_standbys=None, mds_standby=0),
    "zabbix/status3.json": dict(health="HEALTH_WARN", osds=None, pgs=1, quorum=None, mgr_standbys=None, mds_standby=0),
    "rook/pkg_daemon_ceph_client_status_test__CephStatusResponseRaw.json":
        dict(health="HEALTH_WARN", osds=(2, 1, 2), pgs=200, quorum=("rook-ceph-mon0", "rook-ceph-mon2", "rook-ceph-mon1"),
             mgr_standbys=None, mds_standby=0),
    "rook/pkg_operator_ceph_disruption_clusterdisruption_osd_test__healthyCephStatus.json":
        dict(health="HEALTH_OK", osds=None, pgs=None, quorum=None, mgr_standbys=None, mds_standby=None),
    "rook/pkg_operator_ceph_disruption_clusterdisruption_osd_test__healthyCephStatusRemapped.json":
        dict(health="HEALTH_OK", osds=(5, 5, 5), pgs=185, quorum=("a",), mgr_standbys=0, mds_standby=0),
    "rook/pkg_operator_ceph_disruption_clusterdisruption_osd_test__unHealthyCephStatus.json":
        dict(health="HEALTH_WARN", osds=(2, 1, 2), pgs=200, quorum=("rook-ceph-mon0", "rook-ceph-mon2", "rook-ceph-mon1"),
             mgr_standbys=None, mds_standby=0),
}


@pytest.mark.parametrize("rel", sorted(STATUSES))
def test_every_status_fixture_parses_to_what_it_says(rel):
    raw = load(rel)
    want = STATUSES[rel]
    s = cp.parse_status(raw)
    assert s.health == want["health"]
    om = raw["osdmap"].get("osdmap", raw["osdmap"])
    assert (s.num_osds, s.num_up_osds, s.num_in_osds) == (om["num_osds"], om["num_up_osds"], om["num_in_osds"])
    if want["osds"]:
        assert (s.num_osds, s.num_up_osds, s.num_in_osds) == want["osds"]
    assert s.num_pgs == raw["pgmap"]["num_pgs"]
    assert sum(n for _, n in s.pg_states) == s.num_pgs
    if want["quorum"] is not None:
        assert s.quorum == want["quorum"]
    assert set(s.quorum) <= set(s.mons)
    if want["mgr_standbys"] is not None:
        assert len(s.mgr_standbys) == want["mgr_standbys"]
    if want["mds_standby"] is not None:
        assert sum(1 for m in s.mds if m.state == "up:standby") == want["mds_standby"]
    assert {c.code for c in s.checks} == set(raw["health"].get("checks", {}))
    assert s.bytes_total == raw["pgmap"].get("bytes_total", 0)


def test_nested_luminous_and_flat_shapes_read_the_same_numbers():
    nested = cp.parse_status(load("rook/pkg_operator_ceph_disruption_clusterdisruption_osd_test__unHealthyCephStatus.json"))
    flat = cp.parse_status(load("rook/pkg_daemon_ceph_client_status_test__CephStatusResponseRaw.json"))
    assert "osdmap" in load("rook/pkg_operator_ceph_disruption_clusterdisruption_osd_test__unHealthyCephStatus.json")["osdmap"]
    assert (nested.num_osds, nested.num_up_osds, nested.num_in_osds) == (2, 1, 2)
    assert (flat.num_osds, flat.num_up_osds, flat.num_in_osds) == (2, 1, 2)


def test_warn_status_checks_summaries_and_old_mgrmap_names():
    s = cp.parse_status(load("rook/pkg_daemon_ceph_client_status_test__CephStatusResponseRaw.json"))
    checks = {c.code: c for c in s.checks}
    assert checks["OSD_DOWN"].summary == "1 osds down"
    assert checks["PG_AVAILABILITY"].severity == "HEALTH_WARN"
    assert "101 pgs stale" in checks["PG_AVAILABILITY"].summary
    assert s.mgr_active == "rook-ceph-mgr0" and s.mgr_available
    assert dict(s.pg_states) == {"stale+active+clean": 101, "active+clean": 99}
    assert s.clean_pgs == 99


def test_status3_reef_warning_lists_every_check():
    raw = load("zabbix/status3.json")
    s = cp.parse_status(raw)
    checks = {c.code: c for c in s.checks}
    assert checks["OSD_HOST_DOWN"].summary == "2 hosts (1 osds) down"
    assert "TOO_FEW_OSDS" in checks
    assert dict(s.pg_states) == {"unknown": 1}


def test_remapped_status_rates_and_misplaced():
    s = cp.parse_status(load("rook/pkg_operator_ceph_disruption_clusterdisruption_osd_test__healthyCephStatusRemapped.json"))
    assert s.rates.misplaced_objects == 139 and s.rates.misplaced_total == 7149
    assert s.rates.recovering_bytes_per_sec == 9739877
    assert s.rates.write_op_per_sec == 26
    assert ("active+remapped+backfilling", 10) in s.pg_states
    assert s.mgr_available and s.mgr_standbys == ()


def test_status1_counts_become_placeholder_standbys():
    s = cp.parse_status(load("zabbix/status1.json"))
    assert s.mgr_standbys == ("(standby 1)", "(standby 2)")
    assert [m.state for m in s.mds] == ["up:standby"] * 3
    assert s.mons == ("node1", "node2", "node3")


def test_health_fixture_and_detail_merge():
    assert cp.parse_checks(load("zabbix/health.json")) == ()
    detail = cp.parse_health_detail({"status": "HEALTH_WARN", "checks": {"OSD_DOWN": {
        "severity": "HEALTH_WARN", "summary": {"message": "1 osds down"},
        "detail": [{"message": "osd.2 (root=default,host=node3) is down"}]}}})
    assert detail == {"OSD_DOWN": ("osd.2 (root=default,host=node3) is down",)}
    s = cp.parse_status(load("rook/pkg_daemon_ceph_client_status_test__CephStatusResponseRaw.json"))
    merged = cp.with_health_detail(s, detail)
    assert {c.code: c.detail for c in merged.checks}["OSD_DOWN"] == ("osd.2 (root=default,host=node3) is down",)


def test_pacific_flags_come_from_osdmap_flags_check():
    raw = {"health": {"status": "HEALTH_WARN", "checks": {"OSDMAP_FLAGS": {
        "severity": "HEALTH_WARN", "summary": {"message": "noout,norebalance flag(s) set", "count": 2}}}},
        "osdmap": {"num_osds": 3, "num_up_osds": 3, "num_in_osds": 3}}
    assert cp.parse_status(raw).flags == frozenset({"noout", "norebalance"})
    nested = {"health": {"status": "HEALTH_OK"}, "osdmap": {"osdmap": {"flags": "sortbitwise,noout,recovery_deletes"}}}
    assert cp.parse_status(nested).flags == frozenset({"noout"})


def test_minimal_and_bad_status():
    s = cp.parse_status({"health": {"status": "HEALTH_OK"}, "extra": {"whatever": 1}})
    assert s.health == "HEALTH_OK" and s.osds == () and s.num_pgs == 0
    with pytest.raises(ShapeError, match="ceph status: expected an object in the answer, got a list"):
        cp.parse_status(["not", "a", "status"])
    with pytest.raises(cp.CephParseError, match="not JSON"):
        cp.loads("Error initializing cluster client", "ceph status")


def test_osd_tree_hosts_and_status_rook():
    osds = cp.parse_osd_tree(load("rook/pkg_daemon_ceph_osd_replace_test__treeJSON.json"))
    raw = load("rook/pkg_daemon_ceph_osd_replace_test__treeJSON.json")
    want = {n["id"]: n for n in raw["nodes"] if n["type"] == "osd"}
    assert {o.id for o in osds} == set(want)
    hosts = {n["name"]: n["children"] for n in raw["nodes"] if n["type"] == "host"}
    for o in osds:
        assert o.id in hosts[o.host]
        assert o.up == (want[o.id]["status"] == "up")


def test_osd_tree_with_racks_chassis_and_datacenters():
    raw = load("rook/pkg_daemon_ceph_osd_replace_test__treeJSON_2.json")
    osds = cp.parse_osd_tree(raw)
    assert len(osds) == sum(1 for n in raw["nodes"] if n["type"] == "osd")
    by_id = {o.id: o for o in osds}
    assert by_id[0].host == "node-a1"
    chassis = next(n for n in raw["nodes"] if n["type"] == "chassis")
    for child in chassis["children"]:  # under a chassis: the host above it, or the chassis if none
        assert by_id[child].host is not None


def test_digitalocean_tree_up_and_destroyed():
    raw = load("digitalocean-ceph_exporter/osd__testOSDTreeOutput.json")
    osds = cp.parse_osd_tree(raw)
    want = {n["id"]: n for n in raw["nodes"] if n["type"] == "osd"}
    assert len(osds) == len(want)
    assert {o.id for o in osds if o.up} == {i for i, n in want.items() if n.get("status") == "up"}
    assert {o.id for o in osds if not o.up} == {i for i, n in want.items() if n.get("status") != "up"}
    assert all(o.host and o.host.startswith("prod-") for o in osds)
    assert {o.device_class for o in osds} <= {"hdd", "ssd", None}


def test_crush_tree_without_status_marks_osds_not_up():
    osds = cp.parse_osd_tree(load("zabbix/osd_crush_tree.json"))
    assert osds and all(not o.up for o in osds)  # crush tree says nothing about up: never claim it
    assert next(o for o in osds if o.id == 0).host == "newbucket-host"


def test_osd_df_usage_and_pgs():
    raw = load("rook/pkg_operator_ceph_cluster_osd_osd_test__osdDFResults.json")
    osds = cp.parse_osd_tree(raw)
    first = next(n for n in raw["nodes"] if n["id"] == 0)
    o0 = next(o for o in osds if o.id == 0)
    assert o0.size == first["kb"] * 1024 and o0.used == first["kb_used"] * 1024
    assert o0.pgs == first["pgs"] and o0.utilization == pytest.approx(first["utilization"])
    assert o0.up and o0.in_ and o0.host is None  # plain `osd df` has no hosts


def test_osd_dump_overrides_up_in_and_gives_flags_and_pool_sizes():
    osds = cp.parse_osd_tree(load("rook/pkg_daemon_ceph_osd_replace_test__treeJSON.json"))
    dump = {"flags": "noout,sortbitwise,recovery_deletes,purged_snapdirs,pglog_hardlimit",
            "osds": [{"osd": o.id, "up": 0 if o.id == 1 else 1, "in": 1} for o in osds],
            "pools": [{"pool_name": "rbd", "size": 3, "min_size": 2}], "unknown": 5}
    merged, flags, sizes = cp.merge_osd_dump(osds, dump)
    assert flags == frozenset({"noout"})
    assert sizes == {"rbd": (3, 2)}
    assert {o.id for o in merged if not o.up} == {1}


def test_pve_osd_tree_and_flags():
    data = {"flags": "noout,sortbitwise", "root": {"children": [{"type": "root", "name": "default", "children": [
        {"type": "host", "name": "pve1", "children": [
            {"type": "osd", "id": 0, "name": "osd.0", "status": "up", "in": 1, "host": "pve1",
             "total_space": 1000, "bytes_used": 250, "percent_used": 25.0, "device_class": "ssd"}]},
        {"type": "host", "name": "pve2", "children": [
            {"type": "osd", "id": 1, "name": "osd.1", "status": "down", "in": 0}]}]}]}}
    osds, flags = cp.parse_pve_osd_tree(data)
    assert flags == frozenset({"noout"})
    assert [(o.id, o.host, o.up, o.in_) for o in osds] == [(0, "pve1", True, True), (1, "pve2", False, False)]
    assert osds[0].size == 1000 and osds[0].utilization == 25.0
    assert cp.parse_pve_flags([{"name": "noout", "value": 1}, {"name": "noscrub", "value": 0}]) == {"noout"}


def test_df_pools_and_ok_to_stop():
    df = {"stats": {}, "pools": [{"name": "rbd", "id": 1, "stats": {"stored": 10, "bytes_used": 30,
                                                                     "percent_used": 0.25, "max_avail": 99}}]}
    (pool,) = cp.parse_df_pools(df, {"rbd": (3, 2)})
    assert (pool.name, pool.used, pool.percent_used, pool.size, pool.min_size) == ("rbd", 30, 25.0, 3, 2)
    safe, info = cp.parse_ok_to_stop('{"ok_to_stop":false,"osds":[0,1]}', "", 16)
    assert safe is False and info["osds"] == [0, 1]
    assert cp.parse_ok_to_stop("", "mon.a is safe to stop", 0) == (True, "mon.a is safe to stop")


# ------------------------------------------------------------ malformed shapes

CLASS_NAMES = ("TypeError", "ValueError", "KeyError", "OverflowError", "AttributeError")


def _shape_error(fn, *args, **kwargs) -> str:
    with pytest.raises(ShapeError) as err:
        fn(*args, **kwargs)
    text = str(err.value)
    assert not any(name in text for name in CLASS_NAMES), text
    return text


@pytest.mark.parametrize("status,message", [
    (None, "expected an object in the answer, got null"),
    ([1], "expected an object in the answer, got a list"),
    ({"fsid": "x"}, "missing `health` in the status"),
    ({"health": None}, "`health` in the status is null"),
    ({"health": "HEALTH_OK"}, "expected an object in `health`, got a string"),
    ({"health": {}, "osdmap": [1]}, "expected an object in `osdmap`, got a list"),
    ({"health": {}, "pgmap": {"bytes_total": float("inf")}}, "`bytes_total` must be a finite number, got Infinity"),
    ({"health": {}, "pgmap": {"num_pgs": float("nan")}}, "`num_pgs` must be a finite number, got NaN"),
    ({"health": {}, "osdmap": {"num_osds": 10 ** 30}}, "`num_osds` is out of range (100000000000… (31 digits))"),
])
def test_status_shapes(status, message):
    assert _shape_error(cp.parse_status, status, where="ceph /cluster/ceph/status") == \
        f"ceph /cluster/ceph/status: {message}"


@pytest.mark.parametrize("tree,message", [
    (None, "expected an object in the answer, got null"),
    ({"stray": []}, "missing `nodes` in the OSD tree"),  # a wrong-shaped tree is not "no OSDs"
    ({"nodes": {"0": {}}}, "expected a list of objects in `nodes`, got an object"),
    ({"nodes": [{"type": "osd", "id": 0, "kb": float("nan")}]}, "`kb` must be a finite number, got NaN"),
    ({"nodes": [{"type": "osd", "id": 0, "children": "x"}]}, "expected a list in `children`, got a string"),
])
def test_osd_tree_shapes(tree, message):
    where = "ceph `ceph osd tree -f json` on pve1"
    assert _shape_error(cp.parse_osd_tree, tree, where=where) == f"{where}: {message}"


def test_pve_osd_tree_needs_a_root():
    where = "ceph /nodes/pve1/ceph/osd"
    assert _shape_error(cp.parse_pve_osd_tree, {"flags": "noout"}, where=where) == f"{where}: missing `root` in data"
    assert _shape_error(cp.parse_pve_osd_tree, [], where=where) == f"{where}: expected an object in data, got a list"
    assert _shape_error(cp.merge_osd_dump, (), "dump") == "ceph osd dump: expected an object in the answer, got a string"


def test_loads_makes_ceph_text_inert():
    from console.hostile_corpus import CORPUS

    for bad in CORPUS:
        raw = cp.loads(json.dumps({"health": {"status": "HEALTH_WARN", "checks": {
            "X": {"severity": "HEALTH_WARN", "summary": {"message": bad}}}}}), "ceph status")
        summary = cp.parse_status(raw).checks[0].summary
        assert not any(c in summary for c in "\x1b\x07\x00\n\r\x9b\u202e")
