"""Pools and daemon names from PVE's /nodes/{n}/ceph/pool|mgr|mds|mon lists."""

from console.sources.ceph_parse import parse_pve_daemons, parse_pve_pools


def test_pools_percent_is_a_fraction_in_pve():
    [p] = parse_pve_pools([{"pool": 2, "pool_name": "vm", "size": 3, "min_size": 2, "bytes_used": 1000,
                            "percent_used": 0.0123, "pg_num": 32}])
    assert (p.name, p.id, p.size, p.min_size, p.used) == ("vm", 2, 3, 2, 1000)
    assert abs(p.percent_used - 1.23) < 1e-9


def test_daemon_names_and_roles():
    d = parse_pve_daemons(
        [{"name": "pve1", "state": "active"}, {"name": "pve2", "state": "standby"},
         {"name": "pve3", "state": "standby"}],
        [{"name": "pve1", "state": "up:active", "rank": 0}, {"name": "pve2", "state": "up:standby"}],
        [{"name": "pve1", "quorum": True}, {"name": "pve2", "quorum": True}, {"name": "pve3", "quorum": False}])
    assert d["mgr_active"] == "pve1" and d["mgr_standbys"] == ("pve2", "pve3")
    assert [(m.name, m.state) for m in d["mds"]] == [("pve1", "up:active"), ("pve2", "up:standby")]
    assert d["mons"] == ("pve1", "pve2", "pve3") and d["quorum"] == ("pve1", "pve2")


def test_missing_lists_change_nothing():
    assert parse_pve_daemons(None, [], "garbage") == {}
    assert parse_pve_pools(None) == ()
