"""The run's last step: VIPs back to their preferred firewall, per sync group / instance."""

from __future__ import annotations

import asyncio

from console.config_model import FirewallConfig, VrrpConfig
from console.maintenance.vip_failback import fail_back, report_lines, units_of
from console.model import Firewall, VrrpInstance
from console.sources.vrrp import with_sync_groups


class FakeVrrp:
    """Two firewalls; a track file of 1 puts all of a firewall's instances in FAULT and the
    other takes them after `polls_without_master` reads (the gap)."""

    def __init__(self, holds: dict[str, str], cfg: VrrpConfig, polls_without_master: int = 2):
        self.holds = dict(holds)  # instance -> firewall holding it
        self.cfg = cfg
        self.track: dict[str, int] = {"fw1": 0, "fw2": 0}
        self.pending = 0
        self.gap_polls = polls_without_master
        self.calls: list[tuple[str, int]] = []

    async def set_track(self, fw, value):
        self.calls.append((fw, value))
        self.track[fw] = value
        if value:
            self.pending = self.gap_polls

    async def fetch(self):
        if self.pending:
            self.pending -= 1
            if not self.pending:
                for inst, fw in self.holds.items():
                    if self.track[fw]:
                        self.holds[inst] = "fw1" if fw == "fw2" else "fw2"
        fws = []
        for fw in ("fw1", "fw2"):
            insts = []
            for n, (inst, holder) in enumerate(self.holds.items()):
                st = "FAULT" if self.track[fw] else ("MASTER" if holder == fw and not self.pending else "BACKUP")
                insts.append(VrrpInstance(inst, 51 + n, st, 100, 100))
            fws.append(Firewall(fw, fw, True, instances=tuple(insts)))
        return with_sync_groups(tuple(fws), self.cfg)


class Svc:
    cluster = None

    def __init__(self, src):
        self._src = src

    async def vrrp(self):
        return await self._src.fetch()

    def src(self, name):
        return self._src


def cfg(**kw):
    return VrrpConfig(firewalls=(FirewallConfig("fw1", "fw1"), FirewallConfig("fw2", "fw2")), **kw)


def run(src):
    said = []
    out = asyncio.run(fail_back(Svc(src), said.append, timeout=5))
    return out, said


def test_group_fails_back_with_a_measured_gap_and_the_track_file_restored():
    src = FakeVrrp(dict.fromkeys(("WAN", "LAN", "IOT"), "fw2"),
                   cfg(preferred_master="fw1", sync_groups=(("VG_1", ("WAN", "LAN", "IOT")),)))
    out, said = run(src)
    [moved] = out.moved
    assert (moved["units"], moved["from"], moved["to"]) == (["VG_1 (WAN, LAN, IOT)"], "fw2", "fw1")
    assert moved["gap_s"] > 0 and moved["took_s"] >= moved["gap_s"]
    # the vip failback action: the target's track file to 0, the holder's to 1, then back to 0
    assert src.calls == [("fw1", 0), ("fw2", 1), ("fw2", 0)] and set(src.holds.values()) == {"fw1"}
    assert moved["by"] == "vip failback action"
    assert report_lines(out.to_dict())[0].startswith("  VIP fail-back: VG_1 (WAN, LAN, IOT) fw2 -> fw1, no MASTER for")


def test_no_preference_is_said_and_nothing_moves():
    src = FakeVrrp({"VI_1": "fw2"}, cfg())
    out, _ = run(src)
    assert out.moved == [] and src.calls == []
    assert out.skipped == ["no preferred firewall configured (vrrp.preferred_master or vrrp.preferred_masters): "
                           "the VIPs stay on fw2"]


def test_holder_with_an_instance_preferred_on_itself_is_left_alone():
    src = FakeVrrp({"A": "fw2", "B": "fw2"}, cfg(preferred_master="fw1", preferred_masters=(("B", "fw2"),)))
    out, _ = run(src)
    assert out.moved == [] and src.calls == []
    assert out.skipped and "A: stays on fw2, which also holds B" in out.skipped[0]


def test_units_group_members_and_per_instance_preferences():
    src = FakeVrrp({"WAN": "fw1", "LAN": "fw1", "X": "fw2"},
                   cfg(preferred_master="fw1", sync_groups=(("VG_1", ("WAN", "LAN")),),
                       preferred_masters=(("X", "fw2"),)))
    st = asyncio.run(src.fetch())
    assert [(u.label, u.holder, u.preferred) for u in units_of(st)] == [
        ("VG_1 (WAN, LAN)", "fw1", "fw1"), ("X", "fw2", "fw2")]
    out, _ = run(src)
    assert out.moved == [] and out.skipped == ["every VIP is already on its preferred firewall"]


def test_target_holding_another_instance_is_waited_for_per_member():
    """fw1 already holds X: "MASTER per firewall" would say done at once; the members are waited for."""
    src = FakeVrrp({"X": "fw1", "WAN": "fw2", "LAN": "fw2"},
                   cfg(preferred_master="fw1", sync_groups=(("VG_1", ("WAN", "LAN")),)))
    out, _ = run(src)
    [moved] = out.moved
    assert moved["units"] == ["VG_1 (WAN, LAN)"] and "by" not in moved
    assert src.calls == [("fw2", 1), ("fw2", 0)] and set(src.holds.values()) == {"fw1"}
