"""VRRP per instance and per sync group: rules, verdicts, preferred master, config."""

from __future__ import annotations

from dataclasses import replace

from console.config_model import FirewallConfig, VrrpConfig
from console.health import evaluate
from console.health_vrrp import vrrp_rules
from console.incidents import tell
from console.model import Firewall, VrrpInstance
from console.sources.vrrp import with_sync_groups
from console.verdict import CRIT, OK, group_verdicts, instance_verdicts, layer_verdicts
from tests.unit.lab_models import NOW, lab, snaps

GROUP = (("VG_1", ("WAN", "LAN", "IOT")),)


def state(fw1: dict, fw2: dict, groups=GROUP, preferred="fw1", preferred_masters=(), prio=(150, 100)):
    """fwN: instance -> state; WAN/LAN/IOT get vrids 51.. and their own VIPs."""
    fws = []
    for k, (name, states) in enumerate((("fw1", fw1), ("fw2", fw2))):
        insts = tuple(VrrpInstance(i, 51 + n, st, prio[k], prio[k], (f"10.0.{n}.1/24",))
                      for n, (i, st) in enumerate(states.items()))
        fws.append(Firewall(name, name, True, instances=insts))
    cfg = VrrpConfig(firewalls=(FirewallConfig("fw1", "fw1"), FirewallConfig("fw2", "fw2")),
                     preferred_master=preferred, sync_groups=groups, preferred_masters=preferred_masters)
    return with_sync_groups(tuple(fws), cfg)


def texts(st):
    return sorted((f.severity, f.subject, f.text) for f in vrrp_rules(st))


ALL = ("WAN", "LAN", "IOT")


def test_healthy_group_has_no_finding_and_one_summary_line():
    st = state(dict.fromkeys(ALL, "MASTER"), dict.fromkeys(ALL, "BACKUP"))
    assert [i.sync_group for i in st.firewalls[0].instances] == ["VG_1"] * 3
    assert [(g.name, g.members, g.preferred_master) for g in st.sync_groups] == [("VG_1", ALL, "fw1")]
    assert texts(st) == []
    v = layer_verdicts(lab(vrrp_args=()) | {"vrrp": _snap(st)}, [], NOW)["vrrp"]
    assert v.level == OK and v.summary == "VG_1 (WAN,LAN,IOT) on fw1"
    [g] = group_verdicts(st, [])
    assert (g.key, g.level) == ("vrrp-group/VG_1", OK)


def test_group_split_across_firewalls_is_critical_independent_instances_are_not():
    split = {"WAN": "MASTER", "LAN": "BACKUP", "IOT": "MASTER"}
    other = {"WAN": "BACKUP", "LAN": "MASTER", "IOT": "BACKUP"}
    st = state(split, other)
    found = texts(st)
    assert ("critical", "VG_1", "sync group VG_1 (WAN, LAN, IOT) is split across the firewalls: "
            "WAN on fw1, LAN on fw2, IOT on fw1") in found
    assert not any("preferred" in t for _, _, t in found)  # the split is the fact, not three preference warnings
    [g] = group_verdicts(st, list(vrrp_rules(st)))
    assert g.level == CRIT and g.summary.startswith("SPLIT sync group VG_1")
    inst = {v.key: v.level for v in instance_verdicts(st, list(vrrp_rules(st)))}
    assert inst == {"vrrp/WAN": CRIT, "vrrp/LAN": CRIT, "vrrp/IOT": CRIT}
    # the same states without a sync group: an active/active pair, LAN preferring fw2 by config
    free = state(split, other, groups=(), preferred_masters=(("LAN", "fw2"),))
    assert texts(free) == []


def test_split_brain_and_fault_of_a_group_are_said_once_about_the_group():
    st = state(dict.fromkeys(ALL, "MASTER"), dict.fromkeys(ALL, "MASTER"))
    found = texts(st)
    assert found == [("critical", "VG_1",
                      "SPLIT BRAIN on sync group VG_1 (WAN, LAN, IOT): fw1 and fw2 are both MASTER")]
    st = state(dict.fromkeys(ALL, "FAULT"), dict.fromkeys(ALL, "MASTER"))
    assert ("critical", "VG_1", "fw1 sync group VG_1 (WAN, LAN, IOT) is in FAULT") in texts(st)
    assert ("warning", "VG_1", "sync group VG_1 (WAN, LAN, IOT) MASTER is fw2, not the preferred fw1") in texts(st)
    # one member alone in FAULT is about that member
    st = state({"WAN": "FAULT", "LAN": "MASTER", "IOT": "MASTER"}, {"WAN": "MASTER", "LAN": "BACKUP", "IOT": "BACKUP"})
    assert ("critical", "WAN", "fw1 WAN is in FAULT") in texts(st)


def test_preferred_master_per_group_and_per_instance_override_the_cluster_default():
    st = state(dict.fromkeys(ALL, "BACKUP"), dict.fromkeys(ALL, "MASTER"), preferred_masters=(("VG_1", "fw2"),))
    assert texts(st) == []  # the group prefers fw2, where it is
    st = state({"X": "MASTER", "Y": "BACKUP"}, {"X": "BACKUP", "Y": "MASTER"}, groups=(), prio=(100, 100),
               preferred_masters=(("Y", "fw2"),))
    assert texts(st) == []  # X: the default fw1; Y: its own fw2
    st = state({"X": "BACKUP"}, {"X": "MASTER"}, groups=(), prio=(100, 100))
    assert texts(st) == [("warning", "X", "X MASTER is fw2, not the preferred fw1")]


def test_text_dump_group_without_config_and_story_groups():
    """A sync group the text dump names needs no config; the Story carries one verdict per group."""
    insts = tuple(VrrpInstance(i, 51 + n, "MASTER", 150, 150, sync_group="VG_9") for n, i in enumerate(("A", "B")))
    peer = tuple(replace(i, state="BACKUP", base_priority=100, effective_priority=100) for i in insts)
    cfg = VrrpConfig(firewalls=(FirewallConfig("fw1", "fw1"), FirewallConfig("fw2", "fw2")))
    st = with_sync_groups((Firewall("fw1", "fw1", True, instances=insts), Firewall("fw2", "fw2", True, instances=peer)),
                          cfg)
    assert [(g.name, g.members) for g in st.sync_groups] == [("VG_9", ("A", "B"))]
    s = snaps(vrrp=st)
    story = tell(s, NOW, findings=evaluate(s, NOW))
    assert [(v.key, v.level) for v in story.groups] == [("vrrp-group/VG_9", OK)]
    assert [v.key for v in story.instances] == ["vrrp/A", "vrrp/B"]


def _snap(data):
    return snaps(vrrp=data)["vrrp"]


CONFIG = """
[clusters.home.vrrp]
preferred_master = "fw1"
{extra}
[[clusters.home.vrrp.firewalls]]
name = "fw1"
[[clusters.home.vrrp.firewalls]]
name = "fw2"
"""


def _cfg(extra: str):
    from pathlib import Path

    from console.config import parse_config

    return parse_config(CONFIG.format(extra=extra), Path("/tmp/x.toml")).cluster().vrrp


def test_config_sync_groups_and_preferred_masters():
    cfg = _cfg('[clusters.home.vrrp.sync_groups]\nVG_1 = ["WAN", "LAN"]\n'
               '[clusters.home.vrrp.preferred_masters]\nVG_1 = "fw2"\nIOT = "fw1"\n')
    assert cfg.sync_groups == (("VG_1", ("WAN", "LAN")),)
    assert cfg.preferred_masters == (("VG_1", "fw2"), ("IOT", "fw1"))
    assert cfg.preferred_master == "fw1"  # the old cluster-level key still works, as the default
    assert _cfg("").sync_groups == () and _cfg("").preferred_masters == ()


def test_config_names_what_is_wrong_in_sync_groups_and_preferred_masters():
    import pytest

    from console.errors import ConsoleError

    with pytest.raises(ConsoleError) as err:
        _cfg('[clusters.home.vrrp.sync_groups]\nA = ["X"]\nB = ["X", 3]\n'
             '[clusters.home.vrrp.preferred_masters]\nA = "fw9"\n')
    text = str(err.value) + " " + " ".join(str(x) for x in getattr(err.value, "problems", ()))
    assert "already in sync group 'A'" in text, text
    assert "clusters.home.vrrp.sync_groups.B[1]" in text and "'fw9' is not one of the firewalls" in text, text


def test_config_names_meet_the_dumps_inert_names():
    """A hostile instance name: the dump's is made inert where it enters, so is the config's."""
    from console.inert import inert

    raw = "VI_1\x1b]0;PWNED\x07[/]"
    inst = VrrpInstance(inert(raw), 51, "MASTER", 150, 150)
    cfg = VrrpConfig(firewalls=(FirewallConfig("fw1", "fw1"),), sync_groups=(("VG_1", (raw, "LAN")),),
                     preferred_masters=((raw, "fw1"),))
    st = with_sync_groups((Firewall("fw1", "fw1", True, instances=(inst,)),), cfg)
    assert st.firewalls[0].instances[0].sync_group == "VG_1"
    assert "\x1b" not in repr(st.sync_groups) + repr(st.preferred)
