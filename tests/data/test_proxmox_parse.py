"""proxmox_parse with malformed payloads: every wrong shape is one readable ShapeError
naming the endpoint, never an empty healthy cluster or a Python exception name."""

import math

import pytest

from console.sources import proxmox_parse as pp
from console.sources.shape import ShapeError

STATUS = [{"type": "cluster", "name": "lab", "quorate": 1, "nodes": 1},
          {"type": "node", "name": "pve1", "online": 1, "ip": "10.0.0.1", "local": 1}]
RESOURCES = [{"type": "node", "node": "pve1", "status": "online", "cpu": 0.1, "maxcpu": 4, "mem": 1, "maxmem": 2},
             {"type": "qemu", "vmid": 100, "name": "web", "node": "pve1", "status": "running", "tags": "a;b"}]
CLASS_NAMES = ("TypeError", "ValueError", "KeyError", "OverflowError", "AttributeError", "Traceback")


def _error(status=STATUS, resources=RESOURCES, ha=None, ha_res=None) -> str:
    with pytest.raises(ShapeError) as err:
        pp.build_state(status, resources, ha, ha_res, {}, "https://pve1:8006")
    text = str(err.value)
    assert not any(name in text for name in CLASS_NAMES), text
    return text


def test_good_payload_parses():
    s = pp.build_state(STATUS, RESOURCES, None, None, {}, None)
    assert s.quorate and [n.name for n in s.nodes] == ["pve1"] and s.guests[0].tags == ("a", "b")


@pytest.mark.parametrize("resources,message", [
    (None, "expected a list of objects in data, got null"),
    ({"a": 1}, "expected a list of objects in data, got an object"),
    ("text", "expected a list of objects in data, got a string"),
    ([{"type": "qemu", "vmid": 1}, "x"], "expected a list of objects in data, got a string at item 1"),
    ([{"type": "qemu", "vmid": 100, "cpu": math.inf}], "`cpu` must be a finite number, got Infinity"),
    ([{"type": "qemu", "vmid": 100, "mem": math.nan}], "`mem` must be a finite number, got NaN"),
    ([{"type": "qemu", "vmid": 1e400}], "`vmid` must be a finite number, got Infinity"),
    ([{"type": "qemu", "vmid": 100, "maxmem": 10 ** 40}], "`maxmem` is out of range (100000000000… (41 digits))"),
    ([{"type": "qemu", "vmid": "one"}], "`vmid` must be a number, got the string 'one'"),
    ([{"type": "qemu", "vmid": 100, "name": {"n": 1}}], "`name` must be a string, got an object"),
    ([{"type": "qemu", "vmid": 100, "template": "maybe"}], "`template` must be true or false, got a string"),
    ([{"type": "node", "node": "pve1", "uptime": [1]}], "`uptime` must be a number, got a list"),
])
def test_cluster_resources_shapes(resources, message):
    assert _error(resources=resources) == f"proxmox /cluster/resources: {message}"


@pytest.mark.parametrize("status,message", [
    (None, "expected a list of objects in data, got null"),
    ({"data": []}, "expected a list of objects in data, got an object"),
    ([{"type": "cluster", "nodes": math.inf}], "`nodes` must be a finite number, got Infinity"),
    ([{"type": "node", "name": "pve1", "online": {"x": 1}}], "`online` must be true or false, got an object"),
])
def test_cluster_status_shapes(status, message):
    assert _error(status=status) == f"proxmox /cluster/status: {message}"


def test_ha_is_optional_but_checked_when_present():
    assert pp.build_state(STATUS, RESOURCES, None, None, {}, None).ha is None
    assert _error(ha={"quorum": 1}) == \
        "proxmox /cluster/ha/status/current: expected a list of objects in data, got an object"
    assert _error(ha_res=[1]) == \
        "proxmox /cluster/ha/resources: expected a list of objects in data, got a number at item 0"


def test_unknown_fields_are_ignored_and_optional_ones_may_be_absent():
    s = pp.build_state([{"type": "node", "name": "pve1", "whatever": {"deep": [1]}}],
                       [{"type": "qemu", "vmid": 7, "novel": math.inf}, {"type": "storage", "x": None}],
                       None, None, {}, None)
    assert [g.vmid for g in s.guests] == [7] and s.guests[0].name == "vm7" and s.guests[0].cpu == 0.0


def test_node_status_and_apt_versions_name_the_node():
    with pytest.raises(ShapeError, match=r"^proxmox /nodes/pve2/status: expected an object in data, got a list$"):
        pp.parse_versions([1], "pve2")
    with pytest.raises(ShapeError, match=r"^proxmox /nodes/pve2/apt/versions: expected a list of objects"):
        pp.parse_apt_versions({"a": 1}, "pve2")
    assert pp.parse_versions({"pveversion": "pve-manager/8.2.4/abc", "kversion": "Linux 6.8.12-1-pve #1"}) == \
        ("8.2.4", "6.8.12-1-pve")
