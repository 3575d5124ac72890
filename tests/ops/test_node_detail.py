"""Node software: versions, subscription, the APT repositories with their problems.
The enterprise repository without a subscription (the sim fault `enterprise-repo`)
is a critical problem with the fix named, a health finding, a failing apt update on
that node, and a maintenance preflight failure."""

from __future__ import annotations

import asyncio

from console.config import load_config
from console.health_repos import repo_rules
from console.ops import node_detail as nd
from console.ops.common import ActionResult, follow, pve
from console.sources import build_sources


def test_node_detail_and_the_enterprise_trap(lab, cli):
    code, sw = cli.json("node", "pve3")
    assert code == 0 and sw["pve_version"] and sw["kernel"] and sw["subscription"] == "notfound"
    assert not [p for p in sw["problems"] if p["severity"] == "critical"]
    assert any("pve-no-subscription" in r["components"] and r["enabled"] for r in sw["repos"])

    lab.control("enterprise-repo", "pve3")
    code, out, err = cli("node", "pve3")
    assert code == 0 and "enterprise repository enabled without an active subscription" in out
    assert "fix: disable the enterprise repository" in out and "pve-enterprise.list" in out
    code, sw = cli.json("node", "pve1")
    assert not [p for p in sw["problems"] if p["severity"] == "critical"]  # only pve3 is trapped

    async def report_and_preflight():
        sources = build_sources(load_config(lab.config_path).cluster(None))
        try:
            report = await nd.repo_report(sources)
            line = await nd.repo_preflight(sources.get("proxmox"), "pve3")
            ok = await nd.repo_preflight(sources.get("proxmox"), "pve1")
            upid = await sources.get("proxmox").apt_update("pve3")  # what maintenance P8 runs
            res = await follow(pve(sources), ActionResult("apt update", "pve3", ""), "pve3", upid, None, 60, 0.1)
            return report, line, ok, res
        finally:
            await sources.get("proxmox").close()
            await sources.close()

    report, line, ok, apt = asyncio.run(report_and_preflight())
    findings = list(repo_rules(report))
    assert [(f.severity, f.subject) for f in findings] == [("critical", "pve3")]
    assert "apt update fails" in findings[0].text and "pve-no-subscription" in (findings[0].hint or "")
    assert line and "fix:" in line and ok is None

    assert not apt.ok and "exit code 100" in apt.exitstatus and any("401  Unauthorized" in x for x in apt.log)


def test_repo_problems_pure():
    ent = nd.Repo("/etc/apt/sources.list.d/pve-enterprise.list", 0, ("https://enterprise.proxmox.com/debian/pve",),
                  ("bookworm",), ("pve-enterprise",), True)
    nosub = nd.Repo("/etc/apt/sources.list", 2, ("http://download.proxmox.com/debian/pve",), ("bookworm",),
                    ("pve-no-subscription",), True)
    assert [p.severity for p in nd.repo_problems("n", [ent], "notfound")] == ["critical"]
    off = nd.Repo(nosub.path, 2, nosub.uris, nosub.suites, nosub.components, False)
    assert [p.severity for p in nd.repo_problems("n", [off], "notfound")] == ["warning"]  # no PVE updates at all
    assert nd.repo_problems("n", [ent], "active") == []  # with a subscription the enterprise repo is right
    assert nd.repo_problems("n", [nosub], "notfound") == []
    assert [p.severity for p in nd.repo_problems("n", [ent, nosub], "expired")] == ["critical"]
