"""What a run did, at its end, from its journal: duration, packages and kernel
old -> new per node, the ZFS snapshot left behind, the downtime it planned, and
the VIP fail-back (with its measured gap) or why there was none."""

from __future__ import annotations

from typing import Any

from console.maintenance.events import fmt_duration, names
from console.maintenance.return_guests import report_lines as guest_lines
from console.maintenance.vip_failback import report_lines


def _facts_by_node(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    facts: dict[str, dict[str, Any]] = {}
    for r in records:
        if isinstance(r.get("facts"), dict) and isinstance(r.get("node"), str):
            facts.setdefault(r["node"], {}).update(r["facts"])
    return facts


def node_lines(node: str, facts: dict[str, Any], done: bool) -> list[str]:
    lines = []
    before: dict = facts.get("packages") or {}
    after: dict = facts.get("upgraded") or {}
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p)) if after else []
    if done and changed:
        lines.append(f"  {node}: {len(changed)} packages upgraded:")
        lines.extend(f"    {p} {before.get(p) or '(new)'} -> {after.get(p) or '(removed)'}" for p in changed[:40])
        if len(changed) > 40:
            lines.append(f"    ... and {len(changed) - 40} more")
    elif done:
        lines.append(f"  {node}: no package changed")
    old, new = facts.get("kernel"), facts.get("target_kernel")
    if done and old and new and old != new:
        lines.append(f"  {node}: kernel {old} -> {new}")
    elif old:
        lines.append(f"  {node}: kernel {old}" + (" (unchanged)" if done else ""))
    snap = facts.get("snapshot")
    if snap:  # `zfs rollback` keeps the snapshot it went back to
        lines.append(f"  {node}: ZFS snapshot {snap} left behind; once satisfied: ssh {node} zfs destroy {snap}")
    plan = facts.get("plan") or {}
    down = sum(int(m.get("downtime_s") or 0) for m in plan.get("moves") or [] if isinstance(m, dict)
               and m.get("method") in ("restart", "ha") and m.get("type") == "lxc")
    if down:
        lines.append(f"  {node}: planned service downtime ~{down} s (containers restarted to move; each way)")
    return lines


def end_report(run: Any, state: str) -> str:
    records = list(run.journal.records())
    times = [r["t"] for r in records if isinstance(r.get("t"), (int, float))]
    took = fmt_duration(times[-1] - times[0]) if len(times) > 1 else "-"
    head = f"maintenance {state} after {took}: nodes done {names(run.done_nodes)}"
    if state not in ("done",) and run.engine is not None:
        head += f"; {run.engine.node} {state}"
    facts = _facts_by_node(records)
    lines = [head]
    for node in run.nodes:
        if node in facts:
            lines.extend(node_lines(node, facts[node], node in run.done_nodes))
    lines.extend(guest_lines(records))
    failback = next((r.get("failback") for r in reversed(records) if r.get("event") == "vip-failback"), None)
    lines.extend(report_lines(failback if isinstance(failback, dict) else None))
    return "\n".join(lines)
