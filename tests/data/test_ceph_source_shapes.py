"""CephSource over SSH with wrong-shaped CLI output: the layer fails with a message
naming the command and host, never "no OSDs" and healthy. A fake SSH pool answers
each `ceph ... -f json` (tests/data/test_ssh_pool.py runs the real sshd)."""

from __future__ import annotations

import json

import pytest

from console.config_model import CephConfig
from console.errors import ConsoleError
from console.sources.ceph import CephSource
from console.sources.shape import ShapeError
from console.ssh import SshResult

STATUS = json.dumps({"health": {"status": "HEALTH_OK", "checks": {}}, "osdmap": {"num_osds": 1, "num_up_osds": 1,
                                                                                 "num_in_osds": 1}})
TREE = json.dumps({"nodes": [{"id": -1, "name": "pve1", "type": "host", "children": [0]},
                             {"id": 0, "name": "osd.0", "type": "osd", "status": "up", "reweight": 1}]})


class FakeCephHost:
    def __init__(self, **by_command):
        self.by_command = by_command  # "osd tree" -> stdout text or (exit, stderr)

    async def run_many(self, host, commands, timeout=None, parallel=False, privileged=False):
        out = []
        for cmd in commands:
            key = cmd.removeprefix("ceph ").removesuffix(" -f json")
            a = self.by_command.get(key, "{}")
            out.append(SshResult(a[0], "", a[1]) if isinstance(a, tuple) else SshResult(0, a, ""))
        return out


def _source(**answers) -> CephSource:
    answers.setdefault("osd df", TREE)  # the usage read has the tree's shape
    return CephSource(CephConfig(via="ssh", ssh_hosts=("pve1",)), None, FakeCephHost(**answers))


async def test_good_output_reads_the_osds():
    state = await _source(status=STATUS, **{"osd tree": TREE}).fetch()
    assert [(o.id, o.host, o.up) for o in state.osds] == [(0, "pve1", True)]


@pytest.mark.parametrize("tree,message", [
    (json.dumps({"a": 1}), "ceph `ceph osd tree -f json` on pve1: missing `nodes` in the OSD tree"),
    ("null", "ceph `ceph osd tree -f json` on pve1: expected an object in the answer, got null"),
    (json.dumps({"nodes": [{"id": 0, "type": "osd", "kb": 1e400}]}),
     "ceph `ceph osd tree -f json` on pve1: `kb` must be a finite number, got Infinity"),
    ("garbage", "ceph `ceph osd tree -f json` on pve1: not JSON (Expecting value at 0); output began 'garbage'"),
    ((13, "Error EACCES: access denied"), "ceph: `ceph osd tree -f json` on pve1 exited 13: Error EACCES: access denied"),
])
async def test_a_wrong_osd_tree_fails_the_layer(tree, message):
    with pytest.raises(ConsoleError) as err:
        await _source(status=STATUS, **{"osd tree": tree}).fetch()
    assert str(err.value) == message


@pytest.mark.parametrize("status,message", [
    ("[]", "ceph `ceph status -f json` on pve1: expected an object in the answer, got a list"),
    (json.dumps({"fsid": "x"}), "ceph `ceph status -f json` on pve1: missing `health` in the status"),
])
async def test_a_status_without_health_fails_the_layer(status, message):
    with pytest.raises(ShapeError) as err:
        await _source(status=status, **{"osd tree": TREE}).fetch()
    assert str(err.value) == message
