"""`labconsole check --all-clusters` end to end through the real CLI: the simulated lab, the same
lab under a second name, and a cluster nobody answers for (a refused port)."""

from __future__ import annotations

import json
import tomllib

import tomli_w

from console.cli import main


def config_with(sim, path, *, copy: str | None = None, gone: str | None = None):
    """The sim's config plus `copy` (the same lab under another name) and `gone` (its Proxmox
    API on a port where nothing listens, no other layer)."""
    doc = tomllib.loads(sim.config_path.read_text())
    (name, lab), = doc["clusters"].items()
    if copy:
        doc["clusters"][copy] = {**lab, "color": "magenta"}
    if gone:
        doc["clusters"][gone] = {"color": "red", "timeout": 2.0,
                                 "proxmox": {**lab["proxmox"], "endpoints": ["https://127.0.0.1:1"]}}
    path.write_text(tomli_w.dumps(doc))
    return name


def test_two_healthy_clusters_are_two_blocks_and_exit_0(seed_sim, tmp_path, capsys):
    cfg = tmp_path / "config.toml"
    name = config_with(seed_sim, cfg, copy="lab-b")
    code = main(["check", "--all-clusters", "--config", str(cfg)])  # a global flag after the sub-command
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"labconsole check {name}: OK" in out and "labconsole check lab-b: OK" in out
    assert out.count("3/3 nodes online") == 2

    code = main(["--config", str(cfg), "check", "--json"])
    single = json.loads(capsys.readouterr().out)
    code = main(["--config", str(cfg), "check", "--all-clusters", "--json"])
    docs = json.loads(capsys.readouterr().out)
    assert code == 0 and [d["cluster"] for d in docs] == [name, "lab-b"]
    assert all(set(d) == set(single) for d in docs)  # the same keys as `check --json`


def test_worst_cluster_sets_the_exit_code_and_the_unreachable_one_says_why(sim, tmp_path, capsys):
    sim.control("split-brain")
    cfg = tmp_path / "config.toml"
    name = config_with(sim, cfg, gone="gone")
    code = main(["--config", str(cfg), "check", "--all-clusters", "--json"])
    docs = {d["cluster"]: d for d in json.loads(capsys.readouterr().out)}
    assert docs[name]["status"] == "critical" and docs["gone"]["status"] == "unknown"
    assert code == 2  # critical outranks unknown, as among one cluster's layers
    pve = docs["gone"]["layers"]["proxmox"]
    assert pve["ok"] is False and "127.0.0.1:1" in pve["error"]
    assert docs["gone"]["layers"]["swarm"]["configured"] is False

    code = main(["--config", str(cfg), "check", "--all-clusters"])
    out = capsys.readouterr().out
    assert code == 2
    gone = out[out.index("labconsole check gone: UNKNOWN"):]
    assert "127.0.0.1:1" in gone and "Traceback" not in out and "Error:" not in out


def test_all_clusters_excludes_a_named_cluster(seed_sim, capsys):
    code = main(["--config", str(seed_sim.config_path), "check", "--all-clusters", "--cluster", "x"])
    assert code == 2 and "--all-clusters and --cluster exclude each other" in capsys.readouterr().err
