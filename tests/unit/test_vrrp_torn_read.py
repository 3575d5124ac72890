"""The VRRP source reads the two firewalls at slightly different moments: a read across a
hand-over shows two MASTERs (or none) for an instant. It reads again before saying so; a
real split brain or outage is still there on the second read."""

from __future__ import annotations

import asyncio
import json

from console.config_model import FirewallConfig, VrrpConfig
from console.health_vrrp import vrrp_rules
from console.sources.vrrp import VrrpSource
from console.ssh_batch import SshResult

STATE = {"MASTER": 2, "BACKUP": 1, "FAULT": 3}


class ScriptedSsh:
    """Each firewall answers its dump from a list of states, one per read (the last repeats)."""

    def __init__(self, script: dict[str, list[str]]):
        self.script = script
        self.reads = {fw: 0 for fw in script}

    async def run_many(self, host, commands, timeout=None, privileged=()):
        states = self.script[host]
        state = states[min(self.reads[host], len(states) - 1)]
        self.reads[host] += 1
        dump = json.dumps([{"data": {"iname": "VI_1", "state": STATE[state], "vips": ["10.0.0.1/24"]}}])
        return SshResult(0, dump, ""), SshResult(0, "[]", "")


def _fetch(script):
    cfg = VrrpConfig((FirewallConfig("fw1", "fw1"), FirewallConfig("fw2", "fw2")), "fw1", dump="ka-state")
    ssh = ScriptedSsh(script)
    state = asyncio.run(VrrpSource(cfg, ssh).fetch())
    return state, ssh.reads, [f.text for f in vrrp_rules(state) if f.severity == "critical"]


def test_a_read_across_a_hand_over_is_read_again():
    # fw1 read just before it handed over, fw2 just after it took over: both MASTER for an instant
    state, reads, critical = _fetch({"fw1": ["MASTER", "FAULT"], "fw2": ["MASTER"]})
    assert reads == {"fw1": 2, "fw2": 2} and critical == ["fw1 VI_1 is in FAULT"]
    # and the other way round: neither MASTER yet
    state, reads, critical = _fetch({"fw1": ["FAULT"], "fw2": ["BACKUP", "MASTER"]})
    assert reads == {"fw1": 2, "fw2": 2} and critical == ["fw1 VI_1 is in FAULT"]


def test_a_split_brain_that_stays_is_said():
    _, reads, critical = _fetch({"fw1": ["MASTER"], "fw2": ["MASTER"]})
    assert reads == {"fw1": 2, "fw2": 2}
    assert critical == ["SPLIT BRAIN on VI_1: fw1 and fw2 are both MASTER"]
    _, _, critical = _fetch({"fw1": ["FAULT"], "fw2": ["FAULT"]})
    assert "no MASTER for VI_1: nobody holds the virtual IP" in critical


def test_a_consistent_read_is_read_once():
    _, reads, critical = _fetch({"fw1": ["MASTER"], "fw2": ["BACKUP"]})
    assert reads == {"fw1": 1, "fw2": 1} and critical == []
