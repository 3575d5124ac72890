"""The upgrade-everything run: the plan's items one after another on the
maintenance engine, in ONE journal (kind "upgrade", so `upgrade resume|rollback`,
the lock and the start-up banner treat it as every upgrade run).

Each item runs its own procedure's steps, chosen by its label:
  a node name      the node maintenance (console/maintenance/runner.steps_for)
  `firewalls`      the firewall pair, BACKUP first (console/upgrade/steps_firewall)
  `VMID/NAME`      the guest upgrade with snapshot + rollback (console/upgrade/steps_guest)
  `service:NAME`   the Swarm image update (console/upgrade/everything_swarm)
Every procedure starts with its own preflight, so preflight runs again before
each item. MaintenanceRun stops at the first item that does not finish; that
item is rolled back by its own undo steps; finished items stay upgraded, later
ones untouched. A "plan-all" record right after the run's start marks the run
as this kind and keeps the plan (what was up to date or skipped, and why).
"""

from __future__ import annotations

import re
from typing import Any, cast

from console.maintenance.engine import BaseStep
from console.maintenance.journal import Journal
from console.maintenance.rolling import MaintenanceRun
from console.upgrade.everything_plan import SERVICE_PREFIX, EverythingPlan
from console.upgrade.runner import FIREWALLS, KIND

PLAN_EVENT = "plan-all"
_GUEST = re.compile(r"^\d+/")


def layer_of(label: str) -> str:
    if label == FIREWALLS:
        return "firewalls"
    if label.startswith(SERVICE_PREFIX):
        return "service"
    return "guest" if _GUEST.match(label) else "node"


def steps_for_item(label: str) -> list[BaseStep]:
    layer = layer_of(label)
    if layer == "node":
        from console.maintenance.runner import steps_for

        return steps_for(label)
    if layer == "service":
        from console.upgrade.everything_swarm import swarm_steps

        return swarm_steps(label)
    from console.upgrade.runner import steps_for as upgrade_steps

    return upgrade_steps(label)


class EverythingRun(MaintenanceRun):
    """Items instead of nodes. The VIP fail-back of a rolling node run stays, once, at the
    very end (the pair's own last step already ends with the VIP on the preferred firewall;
    node work after it may move it again)."""

    @classmethod
    def begin(cls, cluster: str, plan: EverythingPlan, services: Any, on_event: Any,
              identity: dict | None) -> EverythingRun:
        run = cast(EverythingRun, cls.start(cluster, plan.labels, steps_for_item, services, on_event, KIND, identity))
        run.journal.append(PLAN_EVENT, plan=plan.to_dict())
        services.run_id = run.journal.run_id  # names each guest's snapshot labconsole-RUNID
        return run

    @classmethod
    def reopen(cls, journal: Journal, services: Any, on_event: Any) -> EverythingRun:
        from console.maintenance.runner import restore_plan

        services.run_id = journal.run_id
        run = cast(EverythingRun, cls.resume(journal, steps_for_item, services, on_event))
        if run.engine is not None and layer_of(run.engine.node) == "node":
            restore_plan(services, run.engine.node, run.engine.ctx.facts)
        return run

    # h-drain (not on this branch yet) makes a "rolling" MaintenanceRun park each node's guests on
    # nodes already upgraded, through these two; this run parks too, counting only its node items.
    @property
    def parks(self) -> bool:
        return hasattr(self.services, "rolling_run")

    def _tell_rolling(self) -> None:
        if self.parks:
            nodes = [n for n in self.nodes if layer_of(n) == "node"]
            self.services.rolling_run = (nodes, [n for n in self.done_nodes if n in nodes])

    def item_states(self) -> list[tuple[str, str]]:
        """(label, state) of every item: done, the current one's engine state, or pending."""
        current = self.engine.node if self.engine else None
        out = []
        for label in self.nodes:
            if label in self.done_nodes:
                out.append((label, "done"))
            elif label == current and self.engine is not None:
                out.append((label, self.engine.state))
            else:
                out.append((label, "pending"))
        return out


def is_everything(journal: Journal) -> bool:
    return any(r.get("event") == PLAN_EVENT for r in journal.records())


def recorded_plan(journal: Journal) -> dict:
    return next((r.get("plan") or {} for r in journal.records() if r.get("event") == PLAN_EVENT), {})
