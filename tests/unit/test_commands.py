"""The `:` grammar (console/commands.py): text in, Command out; nothing else happens."""

from __future__ import annotations

import pytest

from console import commands
from console.commands import Command, candidates, parse
from console.layers import ALL_VIEWS, VIEWS


@pytest.mark.parametrize("text, expected", [
    ("", Command(commands.EMPTY)),
    (":", Command(commands.EMPTY)),
    ("   ", Command(commands.EMPTY)),
    ("q!", Command(commands.QUIT_NOW)),
    (":q", Command(commands.QUIT)),
    ("quit", Command(commands.QUIT)),
    ("ctx", Command(commands.CTX)),
    (":ctx lab2", Command(commands.CTX, ("lab2",))),
    ("context lab2 extra", Command(commands.CTX, ("lab2",))),
    ("CLUSTER Lab2", Command(commands.CTX, ("Lab2",))),  # the word is case-blind, the name is not
    ("vm", Command(commands.VIEW, ("guests",))),
    ("OSD", Command(commands.VIEW, ("ceph",))),
    ("keepalived", Command(commands.VIEW, ("vrrp",))),
    ("maint", Command(commands.VIEW, ("maintenance",))),
    ("  :svc  ", Command(commands.VIEW, ("swarm",))),
    ("frobnicate now", Command(commands.UNKNOWN, ("frobnicate",))),
    ("q!!", Command(commands.UNKNOWN, ("q!!",))),
])
def test_parse(text, expected):
    assert parse(text) == expected


def test_every_view_is_a_command_of_its_own_name():
    assert [parse(v) for v in VIEWS] == [Command(commands.VIEW, (v,)) for v in VIEWS]


def test_every_alias_names_a_view():
    assert set(commands.ALIASES.values()) == set(ALL_VIEWS)


def test_candidates_are_the_views_quit_and_each_cluster():
    got = candidates(["home", "lab2"])
    assert got[-2:] == ["ctx home", "ctx lab2"]
    assert all(parse(c).kind in (commands.VIEW, commands.QUIT, commands.CTX) for c in got)
    assert parse(got[-1]) == Command(commands.CTX, ("lab2",))
