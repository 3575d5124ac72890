"""A maintenance run over one node or many (rolling upgrade), resumable from its journal.

Nodes go one after another; preflight is part of every node's steps, so it
is re-run before each node; the whole run stops at the first node that fails.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from console.errors import ConsoleError
from console.maintenance.engine import Engine, Event, Step, StepContext
from console.maintenance.journal import Journal

StepsFactory = Callable[[str], Sequence[Step]]


class MaintenanceRun:
    def __init__(self, cluster: str, nodes: list[str], steps_for: StepsFactory, services: Any,
                 journal: Journal, on_event: Callable[[Event], None] | None = None, kind: str = "node",
                 options: dict | None = None):
        if not nodes:
            raise ConsoleError("maintenance", "no node to maintain")
        self.cluster = cluster
        self.nodes = nodes
        self.steps_for = steps_for
        self.services = services
        self.journal = journal
        self.on_event = on_event or (lambda e: None)
        self.done_nodes: list[str] = []
        self.engine: Engine | None = None
        self.kind = kind
        self.options = dict(options or {})  # return_guests (a rolling run)

    @classmethod
    def start(cls, cluster: str, nodes: list[str], steps_for: StepsFactory, services: Any,
              on_event: Callable[[Event], None] | None = None, kind: str = "node",
              identity: dict | None = None, options: dict | None = None) -> MaintenanceRun:
        journal = Journal.create(cluster, kind, nodes, identity, options)
        return cls(cluster, nodes, steps_for, services, journal, on_event, kind, options)

    @classmethod
    def resume(cls, journal: Journal, steps_for: StepsFactory, services: Any,
               on_event: Callable[[Event], None] | None = None) -> MaintenanceRun:
        head = journal.header()
        options = head.get("options") if isinstance(head.get("options"), dict) else None
        run = cls(head["cluster"], list(head["nodes"]), steps_for, services, journal, on_event,
                  str(head.get("kind") or "node"), options)
        records = list(journal.records())
        run.done_nodes = [r["node"] for r in records if r["event"] == "node-done"]
        run._tell_rolling()
        current = run._next_node()
        if current is not None:
            run.engine = run._engine_for(current)
            run.engine.replay(records)
        journal.append("resumed")
        return run

    def _next_node(self) -> str | None:
        for n in self.nodes:
            if n not in self.done_nodes:
                return n
        return None

    def _engine_for(self, node: str) -> Engine:
        ctx = StepContext(node, self.services)
        return Engine(node, self.steps_for(node), ctx, self.journal, self.on_event)

    @property
    def parks(self) -> bool:
        """A rolling run parks guests on upgraded nodes (plan_park.py); services without the
        notion (test fakes) run every node on its own."""
        return self.kind == "rolling" and hasattr(self.services, "rolling_run")

    def _tell_rolling(self) -> None:
        if self.parks:
            self.services.rolling_run = (list(self.nodes), list(self.done_nodes))

    def _prefetch(self) -> None:
        """A rolling run: the package lists and archives of every node still to come, at once
        (apt_download.py); not of a node already under way (its P8 is past or starts its own)."""
        if not self.parks or not hasattr(self.services, "downloads"):
            return
        from console.maintenance.apt_download import prefetch_nodes

        self._tell_rolling()
        order, done = self.services.rolling_run
        busy = self.engine.node if self.engine is not None and self.engine.state != "new" else None
        prefetch_nodes(self.services, [n for n in order if n not in done and n != busy], self.journal)

    @property
    def state(self) -> str:
        if self.engine is None:
            return "done" if self._next_node() is None else "new"
        return self.engine.state

    async def run(self) -> str:
        """Run (or continue) node after node; stop at the first node that does not finish."""
        if self.parks:
            from console.maintenance.return_guests import record_homes

            await record_homes(self.services, self.journal)
        self._prefetch()
        while True:
            node = self._next_node()
            if node is None:
                return await self.end_done()
            self._tell_rolling()
            if self.engine is None or self.engine.node != node:
                self.engine = self._engine_for(node)
            state = await self.engine.run()
            if state != "done":
                return state
            self.done_nodes.append(node)
            self.engine = None

    async def retry(self) -> str:
        if self.engine is None:
            return await self.run()
        state = await self.engine.retry()
        return state if state != "done" else await self._continue()

    async def rejoin(self) -> str:
        """Drain-only: the operator's work is done; go on from the hold (verify, rejoin)."""
        if self.engine is None:
            raise ConsoleError("maintenance", "no node in progress to rejoin")
        self.engine.release()
        return await self.retry()

    async def skip(self) -> str:
        if self.engine is None:
            raise ConsoleError("maintenance", "nothing to skip")
        state = await self.engine.skip()
        return state if state != "done" else await self._continue()

    async def _continue(self) -> str:
        assert self.engine is not None
        self.done_nodes.append(self.engine.node)
        self.engine = None
        return await self.run()

    async def rollback(self) -> str:
        """Roll back the current (failed or interrupted) node. Finished nodes stay upgraded."""
        if self.engine is None:
            raise ConsoleError("maintenance", "no node in progress to roll back")
        from console.maintenance.apt_download import cancel_downloads

        cancel_downloads(self.services)
        state = await self.engine.rollback()
        if state == "rolled_back":
            self.finish("rolled_back")
        return state

    async def end_done(self) -> str:
        """Every node done: parked guests settled (or brought home), the VIPs back, the run ended."""
        if self.parks:
            from console.maintenance.return_guests import settle_guests

            await settle_guests(self.services, self.journal, self.nodes[-1],
                                bool(self.options.get("return_guests")), self.on_event)
        await self.fail_back_vips()
        self.finish("done")
        return "done"

    async def fail_back_vips(self) -> None:
        """Once, at the end of the whole run: the VIPs back to their preferred firewall
        (console/maintenance/vip_failback.py). Its outcome is journaled for the end report;
        a fail-back that cannot be done is reported, and the run is still done (the VIPs are
        on a healthy firewall)."""
        has = getattr(self.services, "has", None)
        if not callable(has) or not has("vrrp") or any(
                r.get("event") == "vip-failback" for r in self.journal.records()):
            return
        from console.maintenance.vip_failback import fail_back

        node = self.nodes[-1]

        def say(text: str) -> None:
            self.on_event(Event("progress", node, "VIP", "Fail the VIPs back to the preferred firewall", text))

        from console.maintenance.remote_calls import current_step

        # health reads it (console/maintenance_view.py): the holder's FAULT from here on is the hand-over
        self.journal.append("vip-failback-start", node=node)
        token = current_step.set((self.journal, node, "VIP"))  # its track-file writes are journaled too
        try:
            facts = (await fail_back(self.services, say, self.services.timeout(self.services.limit("vip_move")))
                     ).to_dict()
        except ConsoleError as exc:
            facts = {"error": str(exc)}
            say(f"fail-back failed: {exc}")
        finally:
            current_step.reset(token)
        for why in facts.get("skipped") or ():
            say(f"skipped: {why}")
        self.journal.append("vip-failback", failback=facts)

    def abort(self) -> None:
        """Stop here, leaving the journal open for resume or rollback later."""
        self.journal.append("aborted", node=self.engine.node if self.engine else None)

    def finish(self, state: str) -> None:
        from console.maintenance.apt_download import cancel_downloads

        cancel_downloads(self.services)
        self.journal.append("run-end", state=state, done=self.done_nodes)

