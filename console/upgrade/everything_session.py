"""What the `:updates` view renders: the updates inventory, the upgrade-everything
plan built from it, and the progress of a run started from the view (of every
item, or of one row's item), with the same lock, journal and procedures as
`labconsole upgrade run --all`. No Textual here; the screen runs the coroutines
as App workers and renders `lines` as the maintenance wizard does.

Phases: idle -> reading -> ready -> running -> ended (-> reading again).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from console.config_model import ClusterConfig
from console.errors import ConsoleError
from console.maintenance.engine import Event
from console.maintenance.events import event_line
from console.upgrade.everything_plan import UPGRADE, EverythingPlan, build, service_rows
from console.upgrade.inventory import UpdateRow, inventory
from console.upgrade.run_steps import RunSteps

MAX_LINES = 2000


class UpdatesSession:
    """`svc_options` (poll, scale, timeouts) go to UpgradeServices: tests on a fast sim shorten waits."""

    def __init__(self, cluster: ClusterConfig, sources: Any, read_only: bool, **svc_options: Any) -> None:
        self.cluster = cluster
        self.sources = sources
        self.read_only = read_only
        self.svc_options = svc_options
        self.on_change: Callable[[], None] | None = None
        self.phase = "idle"
        self.rows: list[UpdateRow] = []
        self.plan: EverythingPlan | None = None
        self.lines: deque[str] = deque(maxlen=MAX_LINES)
        self.line_count = 0
        self.message = ""
        self.outcome: str | None = None
        self.run: Any = None
        self.version = 0
        self.steps = RunSteps()  # h-upgfix: the step table (console/upgrade/run_steps.py)
        self.unfinished: Any = None  # h-upgfix: the journal of an unfinished upgrade run (run_control.py)

    @property
    def cluster_name(self) -> str:
        return self.cluster.name

    @property
    def running(self) -> bool:
        return self.phase == "running"

    def _changed(self) -> None:
        self.version += 1
        if self.on_change is not None:
            self.on_change()

    def add_line(self, text: str) -> None:
        self.lines.append(text)
        self.line_count += 1

    async def refresh(self) -> None:
        """Read every layer's pending updates (slow: one round trip into each guest)."""
        if self.running:
            return
        if self.sources is None:
            self.message = "no connection to the cluster"
            self._changed()
            return
        self.phase, self.message = "reading", "reading what is pending on every node, guest and service…"
        self._changed()
        try:
            rows = await inventory(self.sources, self.cluster)
            if not any(r.kind == "service" for r in rows):
                rows = rows + await service_rows(self.sources)
            self.plan = await build(self.sources, self.cluster, rows)
            self.rows = rows
            n = len(self.plan.todo)
            self.message = f"{n} item(s) to upgrade" + (": u upgrades everything, i the row's item" if n else "")
        except ConsoleError as exc:
            self.message = f"cannot read the updates: {exc}"
        self.phase = "ready" if self.phase == "reading" else self.phase
        self._changed()

    def item_for(self, row: UpdateRow) -> str | None:
        """The plan item a row belongs to (a firewall's is the pair), when it is to be upgraded."""
        if self.plan is None:
            return None
        label = {"node": row.name, "firewall": "firewalls", "service": f"service:{row.name}"}.get(
            row.kind, f"{row.vmid}/{row.name}")
        item = next((i for i in self.plan.items if i.label == label), None)
        return label if item is not None and item.action == UPGRADE else None

    def sentence(self, label: str | None) -> str:
        if self.plan is None:
            return ""
        todo = self.plan.labels if label is None else [label]
        return (f"Upgrade {len(todo)} item(s) on {self.cluster.name}, the guests alongside the nodes (in lanes), "
                f"each with its preflight, stopping at the first failure with that item rolled back: {', '.join(todo)}")

    async def start(self, label: str | None = None, only: list[str] | None = None) -> None:
        """Run the plan (or the one item `label`, or the items `only`) to its end; the outcome lands in
        `lines` and `message`."""
        from console.cli_upgrade import _drive, _lock, _refuse_if_unfinished
        from console.maintenance.identity import cluster_identity
        from console.upgrade.everything_cli import report
        from console.upgrade.everything_run import EverythingRun
        from console.upgrade.services import UpgradeServices
        from console.upgrade.session_control import run_ending

        if self.read_only:
            raise ConsoleError("read-only", "upgrade refused: this console is read-only")
        if self.plan is None or self.running:
            raise ConsoleError("upgrade", "nothing planned yet" if self.plan is None else "a run is in progress")
        plan = self.plan
        if label is not None:
            plan = EverythingPlan(plan.cluster, [i for i in plan.items if i.label == label])
        if only is not None:
            plan = EverythingPlan(plan.cluster, [i for i in plan.items if i.label in only])
        if not plan.todo:
            raise ConsoleError("upgrade", "nothing to upgrade")
        svc = UpgradeServices(self.cluster, self.sources, writable=True, **self.svc_options)
        self.phase, self.outcome, self.message = "running", None, f"upgrading {len(plan.todo)} item(s)…"
        self.lines.clear()
        self._changed()
        async with run_ending(self, "not started") as ending:
            identity = await cluster_identity(svc)
            ending.lock = lock = await _lock(svc)
            await lock.acquire()
            _refuse_if_unfinished(self.cluster.name, identity)
            self.run = EverythingRun.begin(self.cluster.name, plan, svc, self._on_event, identity.to_dict())
            await lock.note(self.run.journal.run_id)
            self.steps.reset(plan.labels)
            state = await _drive(self.run, "rollback")
            self.outcome = state
            for line in report(self.run, state, 0).splitlines()[1:]:
                self.add_line(line)
            self.message = f"run {self.run.journal.run_id}: {state.replace('_', ' ')}"

    def _on_event(self, e: Event) -> None:
        self.steps.on_event(e, self.run.engine if self.run is not None else None)
        text = event_line(e)
        if text is not None:
            self.add_line(f"[{e.node}] {text}")
            self._changed()
