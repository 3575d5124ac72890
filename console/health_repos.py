"""Health rule for node software: APT repository problems, above all the
enterprise repository enabled without a subscription (every `apt update`
fails). Pure: the report comes from console.ops.node_detail.repo_report."""

from __future__ import annotations

from collections.abc import Iterable

from console.layers import LAYER_OF_SOURCE
from console.model import Finding


def repo_rules(report) -> Iterable[Finding]:
    """Findings for a console.ops.node_detail.RepoReport (info-level notes are left to the node detail)."""
    for node in report.nodes:
        for p in node.problems:
            if p.severity in ("critical", "warning"):
                yield Finding(p.severity, LAYER_OF_SOURCE["repos"], node.node, p.text, p.fix or None)
