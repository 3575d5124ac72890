"""Keepalived dump parsing: the real dumps of keepalived 1.3.5 .. 2.2.7 in
../shared/upstream-fixtures, the JSON dump shape, and `ip -j addr`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.errors import ConsoleError
from console.sources.vrrp_parse import parse_dump, parse_ip_addr, parse_json_dump, parse_text_stats

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "upstream-fixtures" / "keepalived" \
    / "mehdy-keepalived-exporter-test_files"


def _fixture(version: str) -> tuple[str, str | None]:
    if not FIXTURES.is_dir():
        pytest.skip(f"upstream fixtures not present at {FIXTURES} (they live in ../shared, outside the project)")
    d = FIXTURES / version
    stats = d / "keepalived.stats"
    return (d / "keepalived.data").read_text(), stats.read_text() if stats.exists() else None


# (version, [(name, vrid, state, base, effective, vips, become_master)], passwords in the dump)
EXPECTED = [
    ("v1.3.5", [("VI_1", 51, "MASTER", 150, 150, ("10.32.75.200/32",), 1)], ["test"]),
    ("v2.0.10", [("VI_1", 52, "MASTER", 50, 50, ("2.2.2.2/32",), 0)], []),
    ("v2.1.5", [("VI_EXT_1", 10, "MASTER", 100, 100, ("192.168.2.1",), 2),
                ("VI_EXT_2", 20, "BACKUP", 80, 80, ("192.168.2.2",), 2),
                ("VI_EXT_3", 30, "BACKUP", 90, 90, ("192.168.2.3",), 4)], ["bacbefe5", "password"]),
    # 2.2.7: a tracked script adds 100 to the priority; the excluded VIP is not a VIP
    ("v2.2.7", [("VI_227_1", 52, "MASTER", 50, 150, ("10.1.0.1/24",), 0)], []),
]


@pytest.mark.parametrize("version,expected,passwords", EXPECTED, ids=[e[0] for e in EXPECTED])
def test_text_dumps_of_every_version(version, expected, passwords):
    data, stats = _fixture(version)
    instances = parse_dump(data, stats_text=stats)
    got = [(i.name, i.vrid, i.state, i.base_priority, i.effective_priority, i.vips, i.master_transitions)
           for i in instances]
    assert got == expected
    assert all(i.last_transition and i.last_transition > 1.5e9 for i in instances)
    for pw in passwords:  # the VRRP password is in the dump, never in what we keep
        assert f"Password = {pw}" in data
        assert pw not in repr(instances)


def test_text_stats_transitions():
    _, stats = _fixture("v2.1.5")
    assert parse_text_stats(stats) == {"VI_EXT_1": 2, "VI_EXT_2": 2, "VI_EXT_3": 4}


JSON_DUMP = [
    {"data": {"iname": "VI_1", "ifp_ifname": "eth0", "last_transition": 1700000000.25, "vrid": 51,
              "base_priority": 150, "effective_priority": 50, "state": 2, "wantstate": 2, "version": 2,
              "nopreempt": True, "vips": ["10.0.0.1/24 dev eth0 scope global set"],
              "auth_type": 1, "auth_data": "s3cr3tpw", "some_future_field": {"x": 1}},
     "stats": {"advert_rcvd": 3, "become_master": 4, "release_master": 3, "pri_zero_sent": 1}},
    {"data": {"iname": "VI_2", "vrid": 52, "base_priority": 100, "state": 1}},
]


def test_json_dump_fields_and_no_auth_data():
    text = json.dumps(JSON_DUMP)
    first, second = parse_json_dump(text)
    assert (first.name, first.vrid, first.state, first.base_priority, first.effective_priority) == \
        ("VI_1", 51, "MASTER", 150, 50)
    assert first.vips == ("10.0.0.1/24",) and first.master_transitions == 4 and first.nopreempt
    assert first.last_transition == 1700000000.25
    # missing optional fields: effective priority falls back to base, no stats
    assert (second.state, second.effective_priority, second.master_transitions, second.vips) == \
        ("BACKUP", 100, 0, ())
    assert "s3cr3tpw" not in repr((first, second))


@pytest.mark.parametrize("state,name", [(0, "INIT"), (1, "BACKUP"), (2, "MASTER"), (3, "FAULT"), (9, "UNKNOWN(9)")])
def test_json_states(state, name):
    (inst,) = parse_json_dump(json.dumps([{"data": {"iname": "VI", "state": state}}]))
    assert inst.state == name


@pytest.mark.parametrize("text,fragment", [
    ('[{"data": {"iname": "VI_1", "state": 2}', "malformed keepalived JSON dump"),  # truncated write
    ("", "empty"),
    ("Permission denied", "not a keepalived dump"),
    ('{"data": "x"}', "not objects"),
    ('[{"data": {"state": 2}}]', "no instance name"),
])
def test_bad_dumps_raise_clear_errors(text, fragment):
    with pytest.raises(ConsoleError) as err:
        parse_dump(text, "vrrp fw1")
    assert fragment in str(err.value) and str(err.value).startswith("vrrp fw1")


IP_ADDR = json.dumps([
    {"ifindex": 1, "ifname": "lo", "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8}]},
    {"ifindex": 2, "ifname": "eth0", "flags": ["UP"], "addr_info": [
        {"family": "inet", "local": "10.0.0.2", "prefixlen": 24},
        {"family": "inet", "local": "10.0.0.1", "prefixlen": 24, "secondary": True},
        {"family": "inet6", "local": "fe80::1", "prefixlen": 64}]},
    {"ifindex": 3, "ifname": "eth1", "addr_info": []},
])


def test_ip_addr_lists_addresses_without_loopback():
    assert parse_ip_addr(IP_ADDR) == ("10.0.0.2/24", "10.0.0.1/24", "fe80::1/64")
    with pytest.raises(ConsoleError):
        parse_ip_addr("not json", "vrrp fw1")


# ------------------------------------------------------------ malformed shapes


@pytest.mark.parametrize("text,message", [
    ("[]", "vrrp fw1: keepalived dump lists no VRRP instance"),  # says nothing about the VIP: not OK
    ("null", "vrrp fw1: not a keepalived dump (starts with 'null')"),
    ('"x"', "vrrp fw1: not a keepalived dump (starts with '\"x\"')"),
    ('[{"data": {"iname": "VI_1", "vrid": 1e400}}]', "vrrp fw1 entry 0: `vrid` must be a finite number, got Infinity"),
    ('[{"data": {"iname": "VI_1", "base_priority": Infinity}}]',
     "vrrp fw1 entry 0: `base_priority` must be a finite number, got Infinity"),
    ('[{"data": {"iname": "VI_1", "effective_priority": NaN}}]',
     "vrrp fw1 entry 0: `effective_priority` must be a finite number, got NaN"),
    ('[{"data": {"iname": "VI_1", "vrid": 300}}]', "vrrp fw1 entry 0: `vrid` must be at most 255, got 300"),
    ('[{"data": {"iname": "VI_1", "vips": "10.0.0.1"}}]', "vrrp fw1 entry 0: expected a list in `vips`, got a string"),
    ('[{"data": {"iname": ""}}]', "vrrp fw1: keepalived JSON dump entry 0 has no instance name (iname)"),
    ("------< VRRP Topology >------\n VRRP Instance = \n", "vrrp fw1: keepalived dump lists no VRRP instance"),
])
def test_malformed_dumps_are_shape_errors(text, message):
    from console.sources.shape import ShapeError

    with pytest.raises(ShapeError) as err:
        parse_dump(text, "vrrp fw1")
    assert str(err.value).startswith(message), str(err.value)
    assert "Error" not in str(err.value)


def test_hostile_instance_names_are_inert():
    from console.hostile_corpus import CORPUS

    for bad in CORPUS:
        (inst,) = parse_dump(json.dumps([{"data": {"iname": bad, "state": 2, "vips": [f"10.0.0.1/24 {bad}"]}}]))
        assert not any(c in inst.name + "".join(inst.vips) for c in "\x1b\x07\x00\n\r\x9b\u202e")


def test_json_version_2_wrapper_and_no_sync_group_in_json():
    """keepalived's json_version 2 wraps the array: {"vrrp": [...]}; its JSON never names a sync
    group (vrrp_json.c), so instances from it have none until the config supplies one."""
    from console.sources.vrrp_parse import parse_dump

    text = '{"vrrp": [{"data": {"iname": "WAN", "vrid": 51, "state": 2, "base_priority": 150}, "stats": {}}]}'
    [inst] = parse_dump(text, "fw1")
    assert (inst.name, inst.state, inst.sync_group) == ("WAN", "MASTER", None)
