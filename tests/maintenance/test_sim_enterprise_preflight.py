"""The maintenance preflight of a node with the enterprise repository enabled and no
subscription (issue 11 item 9, the sim fault `enterprise-repo`): `maintenance plan`
fails P8 with the problem and its fix named, before anything changes (a node without
the fault passes: tests/maintenance/test_sim_cli_plan.py)."""

from __future__ import annotations

import json

import pytest

from tests.maintenance.conftest import cli, journal_records

pytestmark = pytest.mark.slow


def test_plan_fails_p8_with_the_fix_named(lab, state_dir):
    lab.control("enterprise-repo", "pve3")
    r = cli(lab, state_dir, "plan", "pve3", "--json")
    doc = json.loads(r.stdout)
    p8 = next(c for c in doc["preflight"] if c["id"] == "P8")
    assert not p8["ok"] and doc["ok"] is False, doc["preflight"]
    reason = p8["reason"]
    assert "pve3: enterprise repository enabled without an active subscription" in reason, reason
    assert "every apt update fails with 401 Unauthorized" in reason, reason
    assert "fix: disable the enterprise repository" in reason and "enable pve-no-subscription" in reason, reason
    assert [c["id"] for c in doc["preflight"] if not c["ok"]] == ["P8"]  # nothing else is blamed

    r = cli(lab, state_dir, "plan", "pve3")
    assert "✖ P8" in r.stdout and "fix: disable the enterprise repository" in r.stdout, r.stdout
    assert journal_records(state_dir) == []  # planning changes nothing
