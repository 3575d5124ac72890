"""The wizard's state: what the maintenance screen renders, driven by the engine.

No Textual here. The App owns one WizardSession per cluster (app.maintenance)
and runs its coroutines as App workers, so the run goes on while the operator
looks at other views; the screen only renders the session and forwards keys.
Phases: choose -> planning -> review -> running <-> waiting -> ended.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from console.config_model import ClusterConfig
from console.errors import ConsoleError
from console.inert import strip_sgr
from console.maintenance.cluster_lock import MaintenanceLock, online_nodes
from console.maintenance.drain_only import drain_steps_for
from console.maintenance.end_report import end_report
from console.maintenance.engine import Event
from console.maintenance.events import event_line, status_of
from console.maintenance.identity import ClusterIdentity, cluster_identity
from console.maintenance.observed import AvailabilityWatch
from console.maintenance.preflight_run import CheckResult, run_preflight
from console.maintenance.resume import Unfinished, find_unfinished
from console.maintenance.rolling import MaintenanceRun
from console.maintenance.runner import build_plan, restore_plan, rolling_order, steps_for
from console.maintenance.services import MaintenanceServices
from console.maintenance.step_lines import StepLine, steps_of

log = logging.getLogger(__name__)

ALL = "all"
MAX_LINES = 2000  # output lines kept for the log pane (older ones drop off)


class WizardSession:
    """`steps`, `plan_builder` and `services` default to the real ones; tests pass fakes."""

    def __init__(self, cluster: ClusterConfig, sources: Any, read_only: bool, *,
                 steps: Callable[[str], list] = steps_for,
                 plan_builder: Callable[[Any, str], Awaitable[Any]] = build_plan,
                 services: Callable[..., Any] = MaintenanceServices,
                 drain_steps: Callable[[str], list] = drain_steps_for) -> None:
        self.cluster = cluster
        self.sources = sources
        self.read_only = read_only
        self.upgrade_steps = steps
        self.drain_steps = drain_steps
        self.drain_only = False  # the operator chose drain only (hardware work) for the reviewed node
        self.plan_builder = plan_builder
        self.services_factory = services
        self.on_change: Callable[[], None] | None = None
        self.phase = "choose"
        self.target: str | None = None  # a node name or ALL
        self.nodes: list[str] = []
        self.plan_text = ""
        self.checks: list[CheckResult] = []
        self.steps: list[StepLine] = []
        self.node: str | None = None  # the node whose steps are shown
        self.lines: deque[str] = deque(maxlen=MAX_LINES)
        self.line_count = 0  # lines ever added: the log pane appends what it has not shown
        self.lines_epoch = 0  # bumped when the lines start over (a new run)
        self.message = ""
        self.choices: tuple[str, ...] = ()
        self.outcome: str | None = None  # the state the last run ended in
        self.run: MaintenanceRun | None = None
        self.lock: MaintenanceLock | None = None
        self.reboot_only = False  # the node has nothing pending: a run drains it for a reboot only
        self.identity: ClusterIdentity | None = None  # read with the first plan; journals of other clusters are ignored
        self.unfinished: Unfinished | None = None
        self.version = 0
        self.ha_stuck: list[dict] = []  # HA guests the rules leave no node (plan_ha), of the reviewed plan
        self.accept_downtime: set[int] = set()  # of those, the ones the operator accepted (key y)

    @property
    def steps_for(self) -> Callable[[str], list]:
        return self.drain_steps if self.drain_only else self.upgrade_steps

    # ------------------------------------------------------------ what the screen asks
    @property
    def cluster_name(self) -> str:
        return self.cluster.name

    @property
    def applying(self) -> bool:
        return self.phase == "running"

    @property
    def active(self) -> bool:
        """A run this console holds the lock for (applying, or stopped waiting for the operator)."""
        return self.phase in ("running", "waiting")

    @property
    def preflight_ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def confirm_word(self) -> str:
        """What the operator types to confirm: the node's name, or the cluster's for a rolling run."""
        return self.cluster.name if self.target == ALL else (self.target or "")

    def busy_text(self) -> str | None:
        if self.phase == "running":
            return f"Maintenance of {self.node or ', '.join(self.nodes)} is applying on {self.cluster.name}."
        if self.phase == "waiting" and "rejoin" in self.choices:
            return f"{self.node} on {self.cluster.name} is drained for hardware work, waiting for you to rejoin it."
        if self.phase == "waiting":
            return f"Maintenance of {self.node} on {self.cluster.name} is stopped, waiting for you."
        return None

    def _changed(self) -> None:
        self.version += 1
        if self.on_change is not None:
            self.on_change()

    def add_line(self, text: str) -> None:
        self.lines.append(text)
        self.line_count += 1

    def clear_lines(self) -> None:
        self.lines.clear()
        self.lines_epoch += 1

    def refresh_unfinished(self) -> None:
        try:
            self.unfinished = None if self.active else find_unfinished(self.cluster.name, self.identity)
        except (ConsoleError, OSError) as exc:  # a damaged journal: say so, keep the wizard usable
            self.unfinished = None
            self.message = f"cannot read the maintenance journal: {exc}"

    def _services(self, writable: bool) -> Any:
        if self.sources is None:
            raise ConsoleError("maintenance", "not available for this cluster (no live sources)")
        svc = self.services_factory(self.cluster, self.sources, writable=writable)
        if hasattr(svc, "accept_downtime"):
            svc.accept_downtime.update(self.accept_downtime)
        return svc

    # ------------------------------------------------------------ plan and preflight (read-only)
    async def prepare(self, target: str, drain_only: bool | None = None) -> None:
        """Plan `target` (a node, or ALL) and run the preflight checks; changes nothing.
        drain_only: hardware work (drain, wait, rejoin) instead of an upgrade; None keeps the choice
        made for this target before (a re-check)."""
        if self.active:
            return
        if drain_only is not None:
            self.drain_only = drain_only and target != ALL
        self.phase, self.target, self.nodes = "planning", target, []
        self.plan_text, self.checks, self.message = "", [], f"planning {target} ..."
        self._changed()
        try:
            svc = self._services(writable=False)
            if self.drain_only and hasattr(svc, "drain_only"):
                svc.drain_only.add(target)
            await self._read_identity(svc)
            if target == ALL:
                self.nodes = rolling_order(await svc.pve())
                if not self.nodes:
                    raise ConsoleError("maintenance", "no node has pending updates")
                if hasattr(svc, "rolling_run"):
                    svc.rolling_run = (list(self.nodes), [])  # the plan parks guests as the run will
            else:
                self.nodes = [target]
            first = self.nodes[0]
            plan = await self.plan_builder(svc, first)
            if hasattr(svc, "plans"):
                svc.plans[first] = plan
            head = ""
            if target == ALL:
                head = (f"Rolling upgrade, one node after another: {' → '.join(self.nodes)}\n"
                        f"Each node is planned and checked again just before its turn. Guests stay on the "
                        f"upgraded nodes they move to (each container restarts at most once; "
                        f"`labconsole maintenance run --all --return-guests` moves them home at the end).\n"
                        f"Plan of {first} now:\n\n")
            self.plan_text = head + plan.text()
            self.ha_stuck = list(getattr(plan, "ha_stuck", []))
            self.reboot_only = (target != ALL and not self.drain_only
                                and getattr(plan, "pending_updates", None) == 0)
            self.checks = await self._preflight(svc, first, plan)
        except ConsoleError as exc:
            self.phase, self.message = "choose", f"cannot plan {target}: {exc.message}"
            self._changed()
            return
        self.phase = "review"
        failed = [c for c in self.checks if not c.ok]
        self.message = (f"preflight: {len(failed)} of {len(self.checks)} checks failed" if failed
                        else f"preflight passed ({len(self.checks)} checks)")
        if self.reboot_only:
            self.message += f"; {target} has nothing pending: confirming drains it for a reboot only"
        self._changed()

    @property
    def downtime_to_accept(self) -> list[dict]:
        """HA guests of the reviewed plan that would stop with the node, not accepted yet."""
        return [e for e in self.ha_stuck if e["vmid"] not in self.accept_downtime]

    async def accept_ha_downtime(self) -> None:
        """Accept that the HA guests the rules keep on the node stop with it, and check again."""
        if self.phase != "review" or not self.downtime_to_accept or not self.target:
            return
        self.accept_downtime.update(e["vmid"] for e in self.downtime_to_accept)
        await self.prepare(self.target)

    async def _preflight(self, svc: Any, node: str, plan: Any) -> list[CheckResult]:
        return await run_preflight(svc, node, plan, self.steps_for)

    def back_to_choose(self) -> None:
        if self.active:
            return
        self.phase, self.message = "choose", ""
        self.refresh_unfinished()
        self._changed()

    # ------------------------------------------------------------ running (changes the cluster)
    def _refuse_if_read_only(self, what: str) -> None:
        if self.read_only:
            raise ConsoleError("read-only", f"{what} refused: {self.cluster.name} is read-only")

    async def start(self) -> None:
        """Run the reviewed plan (the screen has had the operator type the confirm word)."""
        if self.phase != "review":
            return
        try:
            self._refuse_if_read_only("maintenance")
            svc = self._services(writable=True)
            if self.reboot_only and hasattr(svc, "force_reboot"):
                svc.force_reboot.update(self.nodes)
            if self.drain_only and hasattr(svc, "drain_only"):
                svc.drain_only.update(self.nodes)
            await self._read_identity(svc)
            await self._take_lock(svc, None)
            kind = "drain" if self.drain_only else "rolling" if self.target == ALL else "node"
            self.run = MaintenanceRun.start(self.cluster.name, list(self.nodes), self.steps_for, svc,
                                            self._on_event, kind, self.identity.to_dict() if self.identity else None)
            if self.lock is not None:  # _take_lock set it
                await self.lock.note(self.run.journal.run_id)
        except ConsoleError as exc:
            self._release()
            self.message = str(exc)
            self._changed()
            return
        self.clear_lines()
        self.steps, self.node = [], None
        self.add_line(f"run {self.run.journal.run_id} on {self.cluster.name}: {', '.join(self.nodes)}")
        await self._drive(self.run.run)

    async def resume(self, action: str) -> None:
        """Continue ("resume") or roll back ("rollback") the unfinished run of the banner."""
        if self.active:
            return
        try:
            self._refuse_if_read_only(action)
            svc = self._services(writable=True)
            await self._read_identity(svc)
            self.refresh_unfinished()
            u = self.unfinished
            if u is None:
                raise ConsoleError("maintenance", "no unfinished run of this cluster to " + action)
            if u.elsewhere:
                raise ConsoleError("maintenance", f"run {u.journal.run_id} is in progress in {u.elsewhere}")
            await self._take_lock(svc, u.journal.run_id)
            self.drain_only = u.journal.header().get("kind") == "drain"
            self.run = MaintenanceRun.resume(u.journal, self.steps_for, svc, self._on_event)
        except ConsoleError as exc:
            self._release()
            self.message = str(exc)
            self._changed()
            return
        run = self.run
        self.nodes, self.target = list(run.nodes), (ALL if len(run.nodes) > 1 else run.nodes[0])
        self.clear_lines()
        self.steps, self.node = [], None
        self.add_line(f"{action} run {u.journal.run_id}: {', '.join(run.nodes)}, state {run.state}")
        self.unfinished = None
        if run.engine is not None:
            if isinstance(svc, MaintenanceServices):
                restore_plan(svc, run.engine.node, run.engine.ctx.facts)
            self._show_engine(run.engine)
        eng = run.engine
        if action == "rollback":
            await self._drive(run.rollback if eng is not None else run.run)  # no node in progress: close the run
        else:
            await self._drive(run.retry if eng is not None and eng.state in ("failed", "interrupted") else run.run)

    async def retry(self) -> None:
        if self.phase == "waiting" and "retry" in self.choices and self.run is not None:
            await self._drive(self.run.retry)

    async def rejoin(self) -> None:
        """Drain-only: the operator's work is done; verify the node and bring everything back."""
        if self.phase == "waiting" and "rejoin" in self.choices and self.run is not None:
            self._refuse_if_read_only("rejoin")
            self.add_line(f"» rejoin {self.node}: the operator's work is done")
            await self._drive(self.run.rejoin)

    async def skip(self) -> None:
        if self.phase == "waiting" and "skip" in self.choices and self.run is not None:
            step = self.failed_step_id()
            self._set(step, "skipped")
            self.add_line(f"» {step} skipped by the operator")
            await self._drive(self.run.skip)

    async def rollback(self) -> None:
        if self.phase == "waiting" and "rollback" in self.choices and self.run is not None:
            await self._drive(self.run.rollback)

    def abort(self) -> None:
        """Stop where the run stands; the journal keeps it for resume or rollback later.
        (While applying, the screen cancels the worker; _drive then lands here.)"""
        if self.phase != "waiting" or self.run is None:
            return
        self.run.abort()
        self._stopped(f"stopped at {self.failed_step_id() or '-'} on {self.node}: the node stays as it is; "
                      "resume or roll back later (r / b here, or `labconsole maintenance resume|rollback`)")

    def failed_step_id(self) -> str | None:
        eng = self.run.engine if self.run else None
        step = eng.failed_step if eng else None
        return step.id if step else None

    async def _drive(self, call: Callable[[], Awaitable[str]]) -> None:
        run = self.run
        assert run is not None
        self.phase, self.choices, self.outcome = "running", (), None
        self.message = "applying"
        self._changed()
        watch = AvailabilityWatch(run.services)  # per drive: what this stretch of the run cost
        await watch.start()
        try:
            try:
                state = await call()
            finally:
                await watch.stop()
            if state == "failed" and self._failed_in_preflight():
                self.add_line("preflight failed: nothing was changed; closing the run")
                state = await run.rollback()
        except asyncio.CancelledError:
            run.abort()
            self._stopped("interrupted: the journal keeps the run for resume or rollback")
            raise
        except Exception as exc:  # noqa: BLE001 - never leave the lock held and the wizard stuck "running"
            if not isinstance(exc, ConsoleError):
                log.exception("maintenance run stopped by an unexpected error")
            run.abort()
            text = str(exc) if isinstance(exc, ConsoleError) else f"{type(exc).__name__}: {exc}"
            self._stopped(f"stopped: {text}; the journal keeps the run for resume or rollback")
            return
        self.outcome = state
        if state == "paused" and run.engine is not None:  # drain-only: the hold, as planned
            self.phase, self.choices = "waiting", run.engine.choices()
            self.message = (f"{run.engine.node} is drained: do your work (power it off and on if you need to), "
                            "then press r to rejoin; ctrl+b rolls the drain back")
            self._changed()
            return
        if state in ("failed", "rollback_failed", "interrupted") and run.engine is not None:
            eng = run.engine
            self.phase = "waiting"
            self.choices = (eng.choices() if state == "failed"
                            else ("rollback",) if state == "rollback_failed" else ("retry", "rollback"))
            self.message = (f"stopped at {self.failed_step_id() or '-'} on {eng.node}: {eng.last_error or state}"
                            if state == "failed" else f"{state} on {eng.node}: {eng.last_error or ''}")
            self._changed()
            return
        self._stopped("\n".join([end_report(run, state), *watch.lines()]))

    def _stopped(self, message: str) -> None:
        """The run ended (first line: the status bar; all of it: the log pane)."""
        self._release()
        self.phase, self.choices, self.message = "ended", (), message.splitlines()[0]
        for line in message.splitlines():
            self.add_line(line)
        self.refresh_unfinished()  # an aborted run is resumable from here at once
        self._changed()

    def _failed_in_preflight(self) -> bool:
        eng = self.run.engine if self.run else None
        return eng is not None and eng.failed_step is not None and eng.failed_step.phase == "preflight" and not [
            s for s, _ in eng.applied if eng.step(s).phase != "preflight"]

    async def _read_identity(self, svc: Any) -> None:
        try:
            self.identity = await cluster_identity(svc)
        except ConsoleError:
            pass  # unknown: journals are not told apart (the plan or the run will say what fails)

    async def _take_lock(self, svc: Any, run_id: str | None) -> None:
        """This machine's lock and the cluster's (ConsoleError naming the holder when taken)."""
        nodes = await online_nodes(svc) if hasattr(svc, "ssh") else []
        lock = MaintenanceLock(self.cluster.name, svc, nodes)
        await lock.acquire(run_id)
        self.lock = lock

    def _release(self) -> None:
        if self.lock is not None:
            self.lock.release_soon()
            self.lock = None

    # ------------------------------------------------------------ engine events
    def _show_engine(self, eng: Any) -> None:
        self.node = eng.node
        self.steps = steps_of(eng)

    def _set(self, step_id: str | None, status: str) -> None:
        for s in self.steps:
            if s.id == step_id:
                s.status = status
                return

    def _on_event(self, e: Event) -> None:
        if e.kind == "run-started" and self.run is not None and self.run.engine is not None:
            if self.node != e.node or not self.steps:
                self._show_engine(self.run.engine)
        status = status_of(e)
        if status is not None:
            self._set(e.step, status)
        line = event_line(e)
        if line is not None:
            self.add_line(strip_sgr(line) if e.kind == "output" else line)  # the log pane shows no colours
        self._changed()
