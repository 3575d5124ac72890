"""VRRP when firewalls fail: no answer from any fails the layer (the poller keeps the
last state, stale); one silent firewall keeps its last known instances with the age
of its last answer instead of "? unknown"; an empty dump is never OK.

A fake SSH pool stands in for the firewalls: what is under test is the source's and
the poller's bookkeeping, not SSH (tests/data/test_vrrp_source.py runs the sim)."""

from __future__ import annotations

import json

import pytest

from console.check import headline
from console.config_model import FirewallConfig, VrrpConfig
from console.errors import ConsoleError
from console.health import evaluate
from console.poller import Poller
from console.sources.vrrp import VrrpSource
from console.ssh import SshResult

IP = json.dumps([{"ifname": "eth0", "addr_info": [{"local": "10.0.0.2", "prefixlen": 24}]}])


def dump(state: int) -> str:
    return json.dumps([{"data": {"iname": "VI_1", "vrid": 51, "state": state, "base_priority": 150,
                                 "effective_priority": 150, "vips": ["10.0.0.1/24 dev eth0"]}}])


class FakeFirewalls:
    """run_many(host, [dump command, ip -j addr]) -> per host: a dump text, an exit
    (code, stderr) of the dump command, or an exception (SSH failure)."""

    def __init__(self, **answers):
        self.answers = answers

    async def run_many(self, host, commands, timeout=None, parallel=False, privileged=False):
        a = self.answers[host]
        if isinstance(a, Exception):
            raise a
        if isinstance(a, tuple):
            return [SshResult(a[0], "", a[1]), SshResult(0, IP, "")]
        return [SshResult(0, a, ""), SshResult(0, IP, "")]


CFG = VrrpConfig(firewalls=(FirewallConfig("fw1", "fw1"), FirewallConfig("fw2", "fw2")), preferred_master="fw1",
                 dump="ka-state", timeout=2.0)


def _source(ssh, wall: list[float]) -> VrrpSource:
    src = VrrpSource(CFG, ssh)
    src.wall_clock = lambda: wall[0]
    return src


async def test_one_silent_firewall_keeps_its_last_known_state_with_its_age():
    wall = [1000.0]
    ssh = FakeFirewalls(fw1=dump(2), fw2=dump(1))
    src = _source(ssh, wall)
    first = await src.fetch()
    assert [(f.answering, f.seen_at) for f in first.firewalls] == [(True, 1000.0), (True, 1000.0)]
    wall[0] = 1030.0
    ssh.answers["fw1"] = ConsoleError("ssh fw1", "connection to 10.0.0.11:22 refused")
    state = await src.fetch()
    fw1, fw2 = state.firewalls
    assert not fw1.answering and fw1.error == "ssh fw1: connection to 10.0.0.11:22 refused"
    assert [i.state for i in fw1.instances] == ["MASTER"] and fw1.seen_at == 1000.0  # last known, 30 s old
    assert fw2.answering and fw2.seen_at == 1030.0
    texts = [f.text for f in evaluate({"vrrp": _snap(state)}, 0.0)]
    assert any("keepalived on fw1 is not answering: ssh fw1: connection to 10.0.0.11:22 refused" in t for t in texts)
    hint = next(f.hint for f in evaluate({"vrrp": _snap(state)}, 0.0) if f.subject == "fw1")
    assert "last known state is shown" in hint


def test_the_vrrp_screen_shows_the_last_known_state_and_its_age():
    from screens.vrrp import instance_rows, verdicts

    from console.model import Firewall, VrrpInstance, VrrpState

    inst = VrrpInstance("VI_1", 51, "MASTER", 150, 150, ("10.0.0.1/24",))
    state = VrrpState((Firewall("fw1", "fw1", False, "ssh fw1: refused", (inst,), (), seen_at=1000.0),
                       Firewall("fw2", "fw2", True, None, (VrrpInstance("VI_1", 51, "BACKUP", 100, 100),), (),
                                seen_at=1030.0)))
    rows = instance_rows(state, 1030.0)
    cells = rows[0].cells
    assert cells[3] == ("? MASTER", "magenta")  # the last known state, not "? unknown"
    assert "silent, last answer 30s ago: ssh fw1: refused" in str(cells[8])
    alarms, _ = verdicts(state)
    assert any("the table shows the last known, marked ?" in a for a in alarms)


async def test_no_firewall_answering_fails_the_layer_and_the_poller_keeps_the_last_state():
    wall = [1000.0]
    ssh = FakeFirewalls(fw1=dump(2), fw2=dump(1))
    src = _source(ssh, wall)
    clock = [0.0]
    poller = Poller("vrrp", src.fetch, interval=2.0, timeout=2.0, clock=lambda: clock[0])
    good = await poller.poll_once()
    assert good.error is None and headline("vrrp", good, 0.0) == "VIP on fw1"
    ssh.answers["fw1"] = ConsoleError("ssh fw1", "connection to 10.0.0.11:22 refused")
    ssh.answers["fw2"] = (1, "sh: 1: ka-state: not found")
    clock[0] = 10.0
    snap = await poller.poll_once()
    assert snap.data is good.data and snap.ok_at == 0.0 and snap.is_stale(10.0)  # last state kept, stale
    assert snap.error == ("vrrp: no firewall answered: ssh fw1: connection to 10.0.0.11:22 refused; "
                          "fw2: the keepalived dump command exited 1: sh: 1: ka-state: not found "
                          "(check SSH and keepalived on the firewalls; the last known state is kept)")
    line = headline("vrrp", snap, 10.0)
    assert line == "FAILED (last known, 10 s old: VIP on fw1)" and "NO MASTER" not in line
    stale = [f for f in evaluate({"vrrp": snap}, 10.0) if f.subject == "vrrp"]
    assert stale and stale[0].severity == "warning" and "stale (10 s old)" in stale[0].text


async def test_first_poll_with_no_firewall_answering_is_unknown_not_no_master():
    ssh = FakeFirewalls(fw1=ConsoleError("ssh fw1", "refused"), fw2=ConsoleError("ssh fw2", "refused"))
    snap = await Poller("vrrp", _source(ssh, [0.0]).fetch, interval=2.0, timeout=2.0).poll_once()
    assert snap.data is None and snap.error.startswith("vrrp: no firewall answered: ssh fw1: refused; ssh fw2: refused")
    assert headline("vrrp", snap).startswith("no data: vrrp: no firewall answered")
    severities = {f.severity for f in evaluate({"vrrp": snap}, 0.0)}
    assert severities == {"unknown"}


@pytest.mark.parametrize("empty", ["[]", ""])
async def test_an_empty_dump_is_a_failure_not_ok(empty):
    ssh = FakeFirewalls(fw1=empty, fw2=empty)
    with pytest.raises(ConsoleError) as err:
        await _source(ssh, [0.0]).fetch()
    text = str(err.value)
    assert "fw1: " in text and "fw2: " in text
    assert ("lists no VRRP instance" if empty else "keepalived dump is empty") in text


async def test_one_empty_dump_is_that_firewall_failing():
    ssh = FakeFirewalls(fw1="[]", fw2=dump(2))
    state = await _source(ssh, [0.0]).fetch()
    fw1, fw2 = state.firewalls
    assert not fw1.answering and "lists no VRRP instance" in fw1.error and fw2.answering
    assert any(f.severity == "critical" and f.subject == "fw1" for f in evaluate({"vrrp": _snap(state)}, 0.0))


def test_health_says_unknown_when_no_instance_is_reported_at_all():
    from console.model import Firewall, VrrpState

    state = VrrpState((Firewall("fw1", "fw1", True), Firewall("fw2", "fw2", True)))
    findings = evaluate({"vrrp": _snap(state)}, 0.0)
    assert [f.severity for f in findings] == ["critical"]
    assert "no firewall reports any VRRP instance" in findings[0].text


def _snap(data):
    from console.poller import Snapshot

    return Snapshot("vrrp", data, ok_at=0.0, interval=2.0)
