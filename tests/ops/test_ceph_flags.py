"""`labconsole ceph flag set|unset FLAG` against the sim: confirmation, the flag shows
on the cluster, the health reminder while it is set, unknown flags and read-only refused."""

from __future__ import annotations

from console.health import ceph_rules
from console.ops.ceph_flags import flag_sentence
from tests.ops.conftest import log_records


def test_set_and_unset_a_flag_with_a_reminder_while_set(cli, state_dir):
    code, out, err = cli("ceph", "flag", "set", "noout", stdin="n\n")
    assert code == 2 and "down OSDs are not marked out" in err and "cancelled" in err
    code, res = cli.json("ceph", "flag", "set", "noout", "--yes")
    assert code == 0 and res["ok"]
    code, data = cli.json("ceph", "flags")
    assert "noout" in data["flags"]
    code, out, err = cli("ceph", "flag", "set", "noout", "--yes")
    assert code == 0 and "already set" in out
    code, res = cli.json("ceph", "flag", "unset", "noout", "--yes")
    assert code == 0 and res["ok"] and "noout" not in cli.json("ceph", "flags")[1]["flags"]
    assert [r["call"] for r in log_records(state_dir)] == ["ceph osd set noout", "ceph osd unset noout"]


def test_bad_flags_risky_flags_and_read_only(cli, state_dir):
    code, out, err = cli("ceph", "flag", "set", "nosuch", "--yes")
    assert code == 2 and "unknown flag 'nosuch'" in err and err.count("\n") == 1
    code, out, err = cli("ceph", "flag", "set", "pause", stdin="y\n")  # pause stops all I/O: typed, not y
    assert code == 2 and "Type pause to confirm" in err and "cancelled" in err
    code, out, err = cli("--read-only", "ceph", "flag", "set", "noout", "--yes")
    assert code == 2 and "(read-only mode)" in err
    code, out, err = cli("ceph", "flag", "set", "--yes")
    assert code == 2 and "needs set|unset and a FLAG" in err
    assert log_records(state_dir) == []


def test_sentence_and_reminder_finding():
    from console.model import CephState

    assert flag_sentence("noout", True, frozenset({"noout"})).startswith("Nothing to do")
    assert "reminds you" in flag_sentence("norebalance", True, frozenset())
    found = [f for f in ceph_rules(CephState("HEALTH_WARN", flags=frozenset({"norebalance"}))) if "flag" in f.subject]
    assert found and "unset norebalance" in (found[0].hint or "")
