"""Every headless command that changes the cluster is refused in read-only mode, with one
sentence, whether the flag comes before or after the subcommand or the cluster
is configured read-only, and nothing reaches the cluster or the command log."""

from __future__ import annotations

import pytest

from tests.ops.conftest import log_records

WRITES = [
    ("swarm", "scale", "grafana", "3"), ("swarm", "force-update", "grafana"),
    ("swarm", "availability", "swarm1", "drain"), ("ceph", "flag", "set", "noout"), ("vip", "failback"),
    ("maintenance", "drain", "pve1"), ("maintenance", "run", "pve1"), ("upgrade", "run", "--all"),
    ("upgrade", "run", "200"), ("upgrade", "resume"), ("upgrade", "rollback"), ("upgrade", "cleanup"),
    ("upgrade", "retry"), ("upgrade", "abort"), ("shell", "pve1"),
]
def refused_exit(argv) -> int:
    """Runs (maintenance, upgrade) exit 1, "stopped safe (refused or rolled back)"; the operations
    commands exit 2 on every error, as `guest`."""
    return 1 if argv[0] in ("maintenance", "upgrade") else 2


NO_PROMPT = ("resume", "rollback", "cleanup", "abort")  # they carry on what was confirmed: no --yes


@pytest.mark.parametrize("argv", WRITES, ids=" ".join)
def test_each_write_is_refused_read_only_in_one_sentence(cli, state_dir, argv):
    before = len(cli.tasks())
    for where in ("before", "after"):
        args = ["--read-only", *argv, "--yes"] if where == "before" else [*argv, "--yes", "--read-only"]
        if argv[0] == "shell" or argv[-1] in NO_PROMPT:
            args.remove("--yes")
        code, out, err = cli(*args)
        assert code == refused_exit(argv) and "(read-only mode)" in err and err.count("\n") == 1, (where, out, err)
        assert "Traceback" not in err
    assert len(cli.tasks()) == before and log_records(state_dir) == []


def test_a_cluster_configured_read_only_refuses_the_upgrade(cli, state_dir):
    path = cli.lab.config_path
    text = path.read_text()
    assert "read_only = false" in text
    path.write_text(text.replace("read_only = false", "read_only = true", 1))
    code, _out, err = cli("upgrade", "run", "--all", "--yes")
    assert code == 1 and "refused: upgrade run (read-only mode)" in err, err
    code, _out, _err = cli("upgrade", "list")  # reads still work
    assert code == 0
