"""HA rules in maintenance: a guest a strict node-affinity rule pins to the node is
caught by `maintenance plan` (guest, rule, what PVE then does), preflight refuses
it before anything moves, and with its downtime accepted the run goes through:
the guest stays, stops with the reboot, and runs again on its node afterwards."""

from __future__ import annotations

import json

from console.ha_rules import placement
from console.maintenance.planner import make_plan
from console.model import Guest, HaRule, Node, ProxmoxState
from tests.maintenance.conftest import Maint, cli, cluster_of, guests_by_vmid, journal_records, problems_after

GIB = 1024**3


def _pve(rules) -> ProxmoxState:
    nodes = tuple(Node(f"pve{i}", "online", maxmem=16 * GIB, mem=4 * GIB) for i in (1, 2, 3))
    guests = (Guest(101, "fw1", "qemu", "pve1", "running", maxmem=GIB, ha_state="started"),
              Guest(102, "fw2", "qemu", "pve2", "running", maxmem=GIB, ha_state="started"),
              Guest(110, "home", "qemu", "pve1", "running", maxmem=2 * GIB, ha_state="started"),
              Guest(201, "db", "lxc", "pve1", "running", maxmem=2 * GIB, ha_state="started"))
    return ProxmoxState("t", True, 3, 3, nodes, guests, ha_rules=rules)


def test_plan_flags_strict_pin_and_negative_affinity_with_nowhere_left(lab):
    cluster = cluster_of(lab)
    rules = (HaRule("pin-home", "node-affinity", ("vm:110",), nodes=(("pve1", 0),), strict=True),
             HaRule("apart", "resource-affinity", ("vm:101", "vm:102"), affinity="negative"),
             HaRule("db-likes-pve3", "node-affinity", ("ct:201",), nodes=(("pve3", 1), ("pve2", 0))))
    pve = _pve(rules)
    plan = make_plan("pve1", pve, cluster)
    assert [e["vmid"] for e in plan.ha_stuck] == [110]
    assert {m.vmid: m.target for m in plan.moves} == {101: "pve3", 110: None, 201: "pve3"}  # apart; preferred
    text = plan.text()
    assert ("vm:110 home: HA rule pin-home: strict rule pin-home allows only pve1, none of them online and out "
            "of maintenance; PVE cannot move it: it stays on pve1 and stops with pve1's reboot") in text
    assert "--accept-downtime 110" in text
    # pve3 down: fw1 has nowhere to go (fw2 holds pve2)
    down = ProxmoxState("t", True, 2, 3, tuple(n if n.name != "pve3" else Node("pve3", "offline")
                                               for n in pve.nodes), pve.guests, ha_rules=rules)
    stuck = make_plan("pve1", down, cluster, accept_downtime={101}).ha_stuck
    assert [(e["vmid"], e["rule"], e["accepted"]) for e in stuck] == [(101, "apart", True), (110, "pin-home", False)]
    assert placement("vm:101", rules, ["pve2"], {"vm:102": "pve2"}).why == \
        "negative rule apart keeps it off pve2 (vm:102)"


def test_a_strict_rule_is_caught_by_plan_and_preflight_refuses_it(lab, state_dir):
    lab.control("ha-pin", "110")  # homeassistant may only run on pve1
    r = cli(lab, state_dir, "plan", "pve1")
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout
    assert "VM 110 homeassistant" in out and "stays: HA rule pin-110: strict rule pin-110 allows only pve1" in out
    assert "stops with pve1's reboot" in out and "--accept-downtime 110" in out, out
    assert "✖ P2b HA rules leave every HA guest a node" in out and "Preflight: 1 of" in out, out

    r = cli(lab, state_dir, "plan", "pve1", "--json", "--accept-downtime", "110")
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] is True
    [entry] = doc["plan"]["ha_stuck"]
    assert entry["vmid"] == 110 and entry["rule"] == "pin-110" and entry["accepted"] is True

    r = cli(lab, state_dir, "run", "pve1", "--yes")
    assert r.returncode == 1 and "preflight failed: nothing was changed" in r.stdout, r.stdout[-2000:]
    assert journal_records(state_dir) == [] or not any(
        rec["event"] == "call-start" for rec in journal_records(state_dir))
    assert not lab.state()["nodes"]["pve1"]["ha_maintenance"]


async def test_accepted_downtime_runs_through_and_the_pinned_guest_comes_back(lab):
    lab.control("ha-pin", "110")
    before = await guests_by_vmid(lab)
    lab.reset_availability()
    async with Maint(lab) as m:
        m.svc.accept_downtime.add(110)
        state = await m.start(["pve1"]).run()
        assert state == "done", f"{state}; failures {m.failures()}\n{m.transcript()}"
    assert await problems_after(lab, before) == []  # 110 runs on pve1 again, every other guest is home
    lost = {int(k): v for k, v in lab.availability()["guests"].items()}
    assert lost.get(110, 0) > 0  # the downtime that was accepted
    assert lost.get(101, 0) == 0  # fw1 live-migrated (its partner's node excluded)
