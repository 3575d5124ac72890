"""Plan a node and run its preflight checks, read-only: what `maintenance plan`,
`maintenance run` (before it asks) and the wizard's review show."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from console.errors import ConsoleError
from console.maintenance.engine import BaseStep, Event, StepContext


@dataclass
class CheckResult:
    id: str
    title: str
    reason: str | None  # None: passed
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reason is None

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "ok": self.ok, "reason": self.reason, "notes": self.notes}


async def run_preflight(svc: Any, node: str, plan: Any, steps_for: Callable[[str], list],
                        keep_reads: bool = False) -> list[CheckResult]:
    """The plan's blockers, then every preflight step's check (none of them changes anything;
    they judge the reads the plan made, services.py PreflightSnapshot). keep_reads: a run starts
    right after (no one is asked), its P0 may take the plan and these reads while they are fresh."""
    problems = list(getattr(plan, "problems", []) or [])
    results = [CheckResult("plan", "Every guest has a place; the plan has no blocker",
                           "; ".join(problems) if problems else None)]
    for step in steps_for(node):
        if step.phase != "preflight" or type(step).check is BaseStep.check:
            continue  # not a check (P0 plans, P8 refreshes the package lists: both run with the steps)
        notes: list[str] = []

        def note(e: Event, notes: list[str] = notes) -> None:
            notes.append(e.text or "")
        ctx = StepContext(node, svc, emit=note)
        ctx.step_id = step.id
        try:
            reason = await step.check(ctx)
        except ConsoleError as exc:
            reason = exc.message
        except Exception as exc:  # noqa: BLE001 - a check that breaks is a failed check, shown
            reason = f"{type(exc).__name__}: {exc}"
        results.append(CheckResult(step.id, step.title, reason, notes))
    close = getattr(svc, "close_snapshot", None)
    if callable(close) and not keep_reads:  # the checks shared the plan's reads; the run that may follow reads afresh
        close()
    return results


def preflight_text(results: list[CheckResult]) -> str:
    failed = [c for c in results if not c.ok]
    lines = [f"Preflight: {'passed' if not failed else f'{len(failed)} of {len(results)} checks failed'}"]
    for c in results:
        lines.append(f"  {'✔' if c.ok else '✖'} {c.id} {c.title}" + ("" if c.ok else f": {c.reason}"))
        lines.extend(f"      {n}" for n in c.notes if n)
    return "\n".join(lines)
