"""The upgrade-everything run: the plan's items in lanes (console/upgrade/everything_lanes.py:
the firewall pair and the nodes one at a time; the CTs and VMs alongside; the Swarm images last)
on the maintenance engine, in ONE journal (kind "upgrade", so `upgrade resume|rollback`, the lock
and the start-up banner treat it as every upgrade run).

Each item runs its own procedure's steps, chosen by its label:
  a node name      the node maintenance (console/maintenance/runner.steps_for)
  `firewalls`      the firewall pair, BACKUP first (console/upgrade/steps_firewall)
  `VMID/NAME`      the guest upgrade with snapshot + rollback (console/upgrade/steps_guest)
  `service:NAME`   the Swarm image update (console/upgrade/everything_swarm)
Every procedure starts with its own preflight, so preflight runs again before each item. Each
started item has its own engine; their records share the journal, each under its label, and an
"item-start" record names the lane and the items already running. The run stops at the first item
that does not finish: nothing new starts, the items running alongside go on to their end, the one
that stopped is rolled back by its own undo steps (all items in flight, after a kill); finished
items stay upgraded, items not started are untouched. A "plan-all" record right after the run's
start marks the run as this kind and keeps the plan (what was up to date or skipped, and why).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, cast

from console.errors import ConsoleError
from console.maintenance.engine import BaseStep, Engine
from console.maintenance.journal import Journal
from console.maintenance.rolling import MaintenanceRun
from console.upgrade.everything_lanes import SERVICES, Lanes, firewall_vmids, lane_of, swarm_vmids
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
    """Items instead of nodes, in two lanes (console/upgrade/everything_lanes.py): the firewall pair
    and the nodes one at a time; the CTs and VMs alongside, each once its node is upgraded; the Swarm
    images last. Every started item has its own engine (`engines`) and its own records in the one
    journal ("item-start" says which items ran alongside it). The first item that does not finish
    stops the run: nothing new starts, the items running in the other lane go on to their end, and
    `engine` is the item that stopped it (what the report, resume and rollback name first). The VIP
    fail-back of a rolling node run stays, once, at the very end."""

    engines: dict[str, Engine]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.engines = {}  # started, not done: running, failed, interrupted, rolled back
        self.swarm_vms: set[int] | None = None
        self.pinned: set[int] = set()  # Swarm node guests a node's drain would stop (everything_lanes)

    @classmethod
    def begin(cls, cluster: str, plan: EverythingPlan, services: Any, on_event: Any,
              identity: dict | None, return_guests: bool = False) -> EverythingRun:
        options = {"return_guests": True} if return_guests else None
        run = cast(EverythingRun, cls.start(cluster, plan.labels, steps_for_item, services, on_event, KIND, identity,
                                            options))
        run.journal.append(PLAN_EVENT, plan=plan.to_dict())
        services.run_id = run.journal.run_id  # names each guest's snapshot labconsole-RUNID
        return run

    @classmethod
    def reopen(cls, journal: Journal, services: Any, on_event: Any) -> EverythingRun:
        """Every item that started and is not done gets its engine back from the journal."""
        from console.maintenance.runner import restore_plan

        services.run_id = journal.run_id
        head = journal.header()
        options = head.get("options") if isinstance(head.get("options"), dict) else None
        run = cls(head["cluster"], list(head["nodes"]), steps_for_item, services, journal, on_event, KIND, options)
        records = list(journal.records())
        run.done_nodes = [r["node"] for r in records if r["event"] == "node-done"]
        started = {r.get("node") for r in records if r["event"] in ("state", "item-start")}
        for label in sorted((i for i in run.nodes if i in started and i not in run.done_nodes), key=_first(records)):
            eng = run._engine_for(label)
            eng.replay(records)
            run.engines[label] = eng
            if layer_of(label) == "node":
                restore_plan(services, label, eng.ctx.facts)
        run.engine = run._stopper()
        run._tell_rolling()
        journal.append("resumed")
        return run

    def _stopper(self) -> Engine | None:
        """The engine the run stops at: the first (in start order) that is not done."""
        return next(iter(self.engines.values()), None)

    # h-drain (not on this branch yet) makes a "rolling" MaintenanceRun park each node's guests on
    # nodes already upgraded, through these two; this run parks too, counting only its node items.
    @property
    def parks(self) -> bool:
        return hasattr(self.services, "rolling_run")

    def _tell_rolling(self) -> None:
        if self.parks:
            nodes = [n for n in self.nodes if layer_of(n) == "node"]
            self.services.rolling_run = (nodes, [n for n in self.done_nodes if n in nodes])

    @property
    def state(self) -> str:
        if self.engine is None:
            return "done" if all(i in self.done_nodes for i in self.nodes) else "new"
        return self.engine.state

    async def run(self) -> str:
        """Run (or go on with) the lanes until every item is done or one stops the run."""
        if self.parks:
            from console.maintenance.return_guests import record_homes

            await record_homes(self.services, self.journal)
        if self.swarm_vms is None:
            self.swarm_vms, self.pinned = await swarm_vmids(self.services)
        self._tell_rolling()  # the first node's plan parks its guests too
        state = await self._lanes()
        if state != "done":
            return state
        return await self.end_done()

    async def _lanes(self) -> str:
        tasks: dict[str, asyncio.Task[str]] = {}
        stopped: str | None = None
        pause = max(0.05, min(float(getattr(self.services, "poll", 0.5)), 0.25))  # a guest landing is seen soon
        try:
            while True:
                if stopped is None:
                    for label in await self._to_start(list(tasks)):
                        tasks[label] = asyncio.create_task(self._go(label, list(tasks)))
                if not tasks:
                    break
                await asyncio.wait(tasks.values(), timeout=pause, return_when=asyncio.FIRST_COMPLETED)
                for label, task in list(tasks.items()):
                    if not task.done():
                        continue
                    del tasks[label]
                    state = task.result()
                    if state == "done":
                        self.done_nodes.append(label)
                        eng = self.engines.pop(label)
                        if self.engine is eng:
                            self.engine = self._stopper()
                        self._tell_rolling()
                    elif stopped is None:
                        stopped = state  # nothing new starts; what runs goes on to its end
        finally:
            for task in tasks.values():  # cancelled from outside: the journal keeps them for resume
                task.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
        self.engine = self._stopper()
        if stopped is None and self.engine is not None:
            stopped = self.engine.state
        left = [i for i in self.nodes if i not in self.done_nodes]
        if stopped is None and left:  # cannot happen by Lanes.startable; never call such a run done
            raise ConsoleError("upgrade", f"items left that could not start: {', '.join(left)}")
        return stopped or "done"

    async def _to_start(self, running: list[str]) -> list[str]:
        # items caught mid-way (resume) go on first, whatever the lanes say
        again = [i for i, e in self.engines.items() if i not in running and e.state not in ("done", "rolled_back")]
        if again:
            return again
        lanes = Lanes(self.nodes, self.done_nodes, running, self.swarm_vms or set(), self.services.plans,
                      firewall_vmids(self.services.cluster), self.pinned)
        if not [i for i in self.nodes if i not in self.done_nodes and i not in running and lane_of(i) != SERVICES]:
            return lanes.startable(_NO_GUESTS)  # nothing to place: no need to read where guests are
        try:
            pve = await self.services.pve()
        except ConsoleError:
            if running:
                return []  # read again at the next turn
            raise
        return lanes.startable(pve)

    async def _go(self, label: str, alongside: list[str]) -> str:
        eng = self.engines.get(label)
        if eng is None:
            eng = self.engines[label] = self._engine_for(label)
            self.journal.append("item-start", node=label, lane=lane_of(label), alongside=alongside)
        if self.engine is None:
            self.engine = eng
        if eng.state in ("failed", "interrupted", "paused"):
            return await eng.retry()
        return await eng.run()

    async def retry(self) -> str:
        return await self.run()

    async def skip(self) -> str:
        if self.engine is None:
            raise ConsoleError("maintenance", "nothing to skip")
        state = await self.engine.skip()
        if state != "done":
            return state
        self.done_nodes.append(self.engine.node)
        del self.engines[self.engine.node]
        self.engine = self._stopper()
        return await self.run()

    async def rollback(self) -> str:
        """Roll back every item that started and is not done, the last started first. Done items
        stay upgraded."""
        if not self.engines:
            raise ConsoleError("maintenance", "no item in progress to roll back")
        first = self.engine
        states = []
        for eng in reversed(list(self.engines.values())):
            if eng.state != "rolled_back":
                states.append(await eng.rollback())
        self.engine = first
        if all(s == "rolled_back" for s in states):
            self.finish("rolled_back")
            return "rolled_back"
        return "rollback_failed"

    def item_states(self) -> list[tuple[str, str]]:
        """(label, state) of every item: done, its engine's state, or pending."""
        out = []
        for label in self.nodes:
            if label in self.done_nodes:
                out.append((label, "done"))
            elif label in self.engines:
                out.append((label, self.engines[label].state))
            else:
                out.append((label, "pending"))
        return out


class _NoGuests:
    guests: tuple = ()


_NO_GUESTS = _NoGuests()


def _first(records: list[dict]) -> Any:
    """Sort key: the position of an item's first record (its start)."""
    pos: dict[str, int] = {}
    for n, r in enumerate(records):
        if isinstance(r.get("node"), str):
            pos.setdefault(r["node"], n)
    return lambda label: pos.get(label, len(records))


def is_everything(journal: Journal) -> bool:
    return any(r.get("event") == PLAN_EVENT for r in journal.records())


def recorded_plan(journal: Journal) -> dict:
    return next((r.get("plan") or {} for r in journal.records() if r.get("event") == PLAN_EVENT), {})
