"""The VRRP screen's lines and rows with a sync group: one line per group, members name it."""

from __future__ import annotations

from screens.vrrp import instance_rows, verdicts
from tests.unit.test_vrrp_groups import ALL, state


def test_one_line_per_sync_group_and_rows_name_the_group():
    st = state(dict.fromkeys(ALL, "MASTER"), dict.fromkeys(ALL, "BACKUP"))
    alarms, fine = verdicts(st)
    assert alarms == [] and fine == ["● VG_1 (WAN,LAN,IOT) on fw1"]
    rows = instance_rows(st, 0.0)
    assert [r.cells[1] for r in rows[:3]] == ["VG_1/WAN", "VG_1/LAN", "VG_1/IOT"]


def test_a_split_group_is_an_alarm():
    st = state({"WAN": "MASTER", "LAN": "BACKUP", "IOT": "MASTER"}, {"WAN": "BACKUP", "LAN": "MASTER", "IOT": "BACKUP"})
    alarms, _ = verdicts(st)
    assert alarms == ["✖ SPLIT sync group VG_1: WAN on fw1, LAN on fw2, IOT on fw1"]
