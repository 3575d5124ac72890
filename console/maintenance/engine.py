"""The maintenance engine: runs steps in order, stops at the first failure,
rolls back in reverse, and journals every transition so a run survives the
console dying.

A step is any object with:
    id: str, title: str, phase: str, skippable: bool
    async check(ctx) -> str | None      read-only; a reason when it must not run
    async apply(ctx) -> dict            idempotent; waits for its condition; returns undo data
    async undo(ctx, data: dict) -> None idempotent; safe on partially applied state
No Textual here: the wizard screen and the headless CLI both render Events.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from console.errors import ConsoleError
from console.inert import cap, inert_sgr, strip_sgr
from console.maintenance.journal import Journal
from console.maintenance.remote_calls import current_step

log = logging.getLogger(__name__)

PHASES = ("preflight", "drain", "upgrade", "verify", "rejoin")
LINE_CAP = 400  # characters of one progress/output line (data strings in it are capped at 200 already)


class Step(Protocol):
    id: str
    title: str
    phase: str
    skippable: bool

    async def check(self, ctx: StepContext) -> str | None: ...
    async def apply(self, ctx: StepContext) -> dict: ...
    async def undo(self, ctx: StepContext, data: dict) -> None: ...


class HoldForOperator(Exception):  # noqa: N818 - not an error: the run waits, as planned
    """Raised by a step's apply when the run must stop and wait for the operator (drain-only
    maintenance: the hardware work between drain and rejoin). The engine records the run as
    paused; `release()` lets the step pass at its next apply."""


class StepFailed(ConsoleError):
    """Raised by a step's check/apply/undo with the reason the operator sees."""

    def __init__(self, step: str, message: str, hint: str | None = None):
        super().__init__(step, message, hint)


@dataclass(frozen=True)
class Event:
    # run-started | step-started | progress | output | step-done | step-failed | waiting |
    # undo-started | undo-done | undo-failed | run-ended
    kind: str
    node: str
    step: str | None = None
    title: str | None = None
    text: str | None = None
    state: str | None = None
    choices: tuple[str, ...] = ()


@dataclass
class StepContext:
    """What steps get: the node, the shared facts of the run, and a way to speak."""

    node: str
    services: Any  # the live sources/actions the steps drive (console.maintenance.steps decides)
    facts: dict[str, Any] = field(default_factory=dict)  # recorded by steps, journaled, survives resume
    emit: Callable[[Event], None] = lambda e: None
    step_id: str | None = None

    def progress(self, text: str) -> None:
        """One line of what the step does (inert, capped: it may quote names from the cluster)."""
        self.emit(Event("progress", self.node, self.step_id, text=cap(text, LINE_CAP)))

    def output(self, line: str) -> None:
        """One line of a remote command's output (apt): colours (SGR) kept, every other
        control made inert; renderers without colour use strip_sgr."""
        text = inert_sgr(line)
        plain = strip_sgr(text)
        if len(plain) > LINE_CAP:
            text = cap(plain, LINE_CAP)
        self.emit(Event("output", self.node, self.step_id, text=text))


class BaseStep:
    """The defaults of a step (a read-only preflight check that records nothing)."""

    id = "?"
    title = "?"
    phase = "preflight"
    skippable = False
    together = False  # a read-only step that may run at once with its neighbours that are too (Engine)

    @property
    def read_only(self) -> bool:
        """Changes nothing that needs undoing (checks, verification): rollback passes it by."""
        return self.phase in ("preflight", "verify")

    async def check(self, ctx: StepContext) -> str | None:
        return None

    async def apply(self, ctx: StepContext) -> dict:
        return {}

    async def undo(self, ctx: StepContext, data: dict) -> None:
        return None

    @staticmethod
    def svc(ctx: StepContext) -> Any:
        return ctx.services


class Engine:
    """Runs the steps of one node. States: new, running, failed, paused (a hold step waits for
    the operator), done, rolling_back, rolled_back, rollback_failed, aborted."""

    def __init__(self, node: str, steps: Sequence[Step], ctx: StepContext, journal: Journal,
                 on_event: Callable[[Event], None] | None = None):
        self.node = node
        self.steps = list(steps)
        self.ctx = ctx
        self.journal = journal
        self.on_event = on_event or (lambda e: None)
        ctx.emit = self._emit
        self.position = 0  # index of the next step to apply
        self.applied: list[tuple[str, dict]] = []  # (step id, undo data) in apply order
        self.in_flight: str | None = None  # a step whose apply started but did not finish
        self.state = "new"
        self.last_error: str | None = None
        self.hold_text = ""  # what a paused run waits for

    # ------------------------------------------------------------ events
    def _emit(self, event: Event) -> None:
        if event.kind == "progress":
            log.debug("%s %s: %s", event.node, event.step, event.text)
        try:
            self.on_event(event)
        except Exception:  # noqa: BLE001 - a renderer must not break the run
            log.exception("event handler failed")

    def _set_state(self, state: str) -> None:
        self.state = state
        self.journal.append("state", node=self.node, state=state)

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    @property
    def failed_step(self) -> Step | None:
        return self.steps[self.position] if self.state == "failed" and self.position < len(self.steps) else None

    @property
    def held_step(self) -> Step | None:
        """The step the run is paused at, waiting for the operator."""
        return self.steps[self.position] if self.state == "paused" and self.position < len(self.steps) else None

    def choices(self) -> tuple[str, ...]:
        if self.state == "paused":
            return ("rejoin", "rollback")
        if self.state != "failed":
            return ()
        step = self.failed_step
        return ("retry", "rollback", "skip") if step is not None and step.skippable else ("retry", "rollback")

    # ------------------------------------------------------------ forward
    async def run(self) -> str:
        """Apply steps from the current position until done or the first failure."""
        if self.state in ("done", "rolled_back", "rolling_back"):
            return self.state
        self._set_state("running")
        self._emit(Event("run-started", self.node, state="running"))
        while self.position < len(self.steps):
            step = self.steps[self.position]
            group = self._together_from(self.position)
            if len(group) > 1:
                if await self._apply_together(group) == "failed":
                    self._set_state("failed")
                    failed = self.steps[self.position]
                    self._emit(Event("waiting", self.node, failed.id, failed.title, self.last_error, "failed",
                                     self.choices()))
                    return self.state
                continue
            outcome = await self._apply(step)
            if outcome == "held":
                self._set_state("paused")
                self._emit(Event("waiting", self.node, step.id, step.title, self.hold_text, "paused", self.choices()))
                return self.state
            if outcome == "failed":
                self._set_state("failed")
                self._emit(Event("waiting", self.node, step.id, step.title, self.last_error, "failed", self.choices()))
                return self.state
            self.position += 1
        self._set_state("done")
        self.journal.append("node-done", node=self.node)
        self._emit(Event("run-ended", self.node, state="done"))
        return self.state

    async def _apply(self, step: Step) -> str:
        """done | failed | held"""
        self.ctx.step_id = step.id
        self._emit(Event("step-started", self.node, step.id, step.title))
        try:
            reason = await step.check(self.ctx)
            if reason:
                raise StepFailed(step.id, reason)
            self.journal.append("apply-start", node=self.node, step=step.id, facts=self.ctx.facts)
            self.in_flight = step.id
            token = current_step.set((self.journal, self.node, step.id))
            try:
                undo = await step.apply(self.ctx) or {}
            finally:
                current_step.reset(token)
            self.journal.append("apply-done", node=self.node, step=step.id, undo=undo, facts=self.ctx.facts)
            self.in_flight = None
            self.applied.append((step.id, undo))
        except HoldForOperator as hold:
            self.in_flight = None  # a hold changes nothing: nothing half-done to undo
            self.hold_text = cap(str(hold), LINE_CAP)
            self.journal.append("held", node=self.node, step=step.id, text=self.hold_text, facts=self.ctx.facts)
            return "held"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure stops the run safely
            self.last_error = cap(str(exc) if isinstance(exc, ConsoleError) else f"{type(exc).__name__}: {exc}",
                                  LINE_CAP)
            self.journal.append("apply-failed", node=self.node, step=step.id, error=self.last_error,
                                facts=self.ctx.facts)
            self._emit(Event("step-failed", self.node, step.id, step.title, self.last_error))
            return "failed"
        self._emit(Event("step-done", self.node, step.id, step.title))
        return "done"

    def _together_from(self, i: int) -> list[Step]:
        """The steps from `i` on that may run at once: read-only ones marked `together`."""
        group: list[Step] = []
        for step in self.steps[i:]:
            if not (getattr(step, "together", False) and getattr(step, "read_only", False)):
                break
            group.append(step)
        return group

    async def _apply_together(self, group: list[Step]) -> str:
        """Apply read-only steps at once (the verify steps: reads and waits that do not depend on
        each other); done | failed. The journal tells them as if one after the other, written in
        step order once all have ended: the group's first apply-start first, so that a console
        killed meanwhile resumes at the group's first step; the first failure in step order is
        the run's (the steps after it run again on retry: they only read)."""
        self.journal.append("apply-start", node=self.node, step=group[0].id, facts=self.ctx.facts)
        self.in_flight = group[0].id
        for step in group:
            self._emit(Event("step-started", self.node, step.id, step.title))

        async def alone(step: Step) -> dict:
            ctx = dataclasses.replace(self.ctx, step_id=step.id)  # its own step id; the same facts and services
            token = current_step.set((self.journal, self.node, step.id))
            try:
                reason = await step.check(ctx)
                if reason:
                    raise StepFailed(step.id, reason)
                return await step.apply(ctx) or {}
            finally:
                current_step.reset(token)

        results = await asyncio.gather(*(alone(s) for s in group), return_exceptions=True)
        for step, result in zip(group, results, strict=True):
            if isinstance(result, asyncio.CancelledError):
                raise result
            if step is not group[0]:
                self.journal.append("apply-start", node=self.node, step=step.id, facts=self.ctx.facts)
            self.in_flight = step.id
            if isinstance(result, BaseException):
                self.last_error = cap(str(result) if isinstance(result, ConsoleError)
                                      else f"{type(result).__name__}: {result}", LINE_CAP)
                self.journal.append("apply-failed", node=self.node, step=step.id, error=self.last_error,
                                    facts=self.ctx.facts)
                self._emit(Event("step-failed", self.node, step.id, step.title, self.last_error))
                return "failed"
            self.journal.append("apply-done", node=self.node, step=step.id, undo=result, facts=self.ctx.facts)
            self.in_flight = None
            self.applied.append((step.id, result))
            self.position += 1
            self._emit(Event("step-done", self.node, step.id, step.title))
        return "done"

    async def retry(self) -> str:
        """Try the failed step again, or continue an interrupted run from its journal position
        (the step caught mid-apply is applied again: applies are idempotent)."""
        if self.state not in ("failed", "interrupted", "paused"):
            raise ConsoleError("maintenance", f"nothing to retry (state {self.state})")
        return await self.run()

    def release(self) -> None:
        """The operator is done (drain-only: the hardware work): the hold step lets the run go on
        at its next apply. Journaled, so a run that dies after this still goes on when resumed."""
        self.ctx.facts["released"] = True
        self.journal.append("released", node=self.node, facts=self.ctx.facts)

    async def skip(self) -> str:
        step = self.failed_step
        if step is None or not step.skippable:
            raise ConsoleError("maintenance", "this step cannot be skipped safely")
        self.journal.append("skipped", node=self.node, step=step.id)
        self.in_flight = None
        self.position += 1
        return await self.run()

    # ------------------------------------------------------------ backward
    async def rollback(self) -> str:
        """Undo every applied step (and a step caught mid-apply) in reverse order."""
        failed = (self.steps[self.position] if self.state in ("failed", "paused") and self.position < len(self.steps)
                  else None)
        self._set_state("rolling_back")
        todo = list(self.applied)
        if self.in_flight and self.in_flight not in {s for s, _ in todo}:
            todo.append((self.in_flight, {"partial": True}))
        if failed is not None and failed.id not in {s for s, _ in todo}:
            todo.append((failed.id, {"partial": True}))  # undo is idempotent: safe if nothing happened
        for step_id, data in reversed(todo):
            step = self.step(step_id)
            if getattr(step, "read_only", False):  # a check: nothing to undo, nothing to say
                self.applied = [(s, d) for s, d in self.applied if s != step_id]
                self.in_flight = None if self.in_flight == step_id else self.in_flight
                continue
            self.ctx.step_id = step_id
            self._emit(Event("undo-started", self.node, step_id, step.title))
            self.journal.append("undo-start", node=self.node, step=step_id)
            token = current_step.set((self.journal, self.node, step_id))
            try:
                await step.undo(self.ctx, data)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                self.last_error = cap(str(exc) if isinstance(exc, ConsoleError) else f"{type(exc).__name__}: {exc}",
                                      LINE_CAP)
                self.journal.append("undo-failed", node=self.node, step=step_id, error=self.last_error)
                self._emit(Event("undo-failed", self.node, step_id, step.title, self.last_error))
                self._set_state("rollback_failed")
                return self.state
            finally:
                current_step.reset(token)
            self.journal.append("undo-done", node=self.node, step=step_id)
            self.applied = [(s, d) for s, d in self.applied if s != step_id]
            if self.in_flight == step_id:
                self.in_flight = None
            self._emit(Event("undo-done", self.node, step_id, step.title))
        self.position = 0
        self._set_state("rolled_back")
        self._emit(Event("run-ended", self.node, state="rolled_back"))
        return self.state

    # ------------------------------------------------------------ resume
    def replay(self, records: list[dict[str, Any]]) -> None:
        """Rebuild position/applied/in_flight/facts from this node's journal records."""
        ids = [s.id for s in self.steps]
        for r in records:
            if r.get("node") != self.node:
                continue
            ev = r["event"]
            if "step" in r and r["step"] not in ids:
                raise ConsoleError("maintenance journal", f"{ev} of step {r['step']!r} on {self.node}: "
                                   "not a step this console knows", "roll back or finish it by hand")
            if "facts" in r:
                self.ctx.facts.update(r["facts"])
            if ev == "apply-start":
                self.in_flight = r["step"]
                self.position = ids.index(r["step"])
            elif ev == "apply-done":
                self.in_flight = None
                self.applied = [(s, d) for s, d in self.applied if s != r["step"]] + [(r["step"], r.get("undo") or {})]
                self.position = ids.index(r["step"]) + 1
            elif ev == "held":
                self.in_flight = None
                self.position = ids.index(r["step"])
                self.hold_text = r.get("text") or ""
            elif ev == "apply-failed":
                self.in_flight = r["step"]
                self.position = ids.index(r["step"])
                self.last_error = r.get("error")
            elif ev == "skipped":
                self.in_flight = None
                self.position = ids.index(r["step"]) + 1
            elif ev == "undo-done":
                self.applied = [(s, d) for s, d in self.applied if s != r["step"]]
                if self.in_flight == r["step"]:
                    self.in_flight = None
            elif ev == "state":
                self.state = r["state"]
        if self.state in ("running", "rolling_back"):
            self.state = "interrupted"
        if self.state == "rolled_back":
            self.position = 0

    @property
    def interrupted(self) -> bool:
        return self.state in ("interrupted", "failed", "rollback_failed", "paused")
