"""Drain-only maintenance (hardware work): the same plan, preflight, drain, verify and
rejoin as an upgrade, without the upgrade steps, and a hold between drain and rejoin.

The hold step stops the run, recorded as paused in the journal; the node stays
drained (guests elsewhere, noout set, Swarm node drained, HA maintenance on) for as
long as the work takes, the node powered off and on meanwhile if need be. `rejoin`
(headless `labconsole maintenance rejoin NODE`, or r in the wizard) releases it:
the hold waits for the node to answer again, then verify and rejoin run as usual.
`rollback` undoes the drain instead.
"""

from __future__ import annotations

from console.maintenance.engine import BaseStep, HoldForOperator, StepContext
from console.maintenance.steps_upgrade import wait_online


class H1Hold(BaseStep):
    id, title, phase = "H1", "Wait for the operator (hardware work; the node may be powered off and on)", "hold"

    @property
    def read_only(self) -> bool:
        return False  # its undo waits for the node: the drain can only be undone on a node that answers

    async def apply(self, ctx: StepContext) -> dict:
        if not ctx.facts.get("released"):
            raise HoldForOperator(f"{ctx.node} is drained: do your work (power it off and on if you need to), "
                                  f"then rejoin it: `labconsole maintenance rejoin {ctx.node}`, or r in the wizard; "
                                  "`labconsole maintenance rollback` undoes the drain")
        ctx.progress(f"the operator is done: waiting for {ctx.node} to answer (API and SSH)")
        await wait_online(ctx, self.svc(ctx))
        return {}

    async def undo(self, ctx: StepContext, data: dict) -> None:
        ctx.progress(f"waiting for {ctx.node} to answer before its guests come back")
        await wait_online(ctx, self.svc(ctx))


def drain_steps_for(node: str) -> list[BaseStep]:
    """Plan, preflight (without P8: no package lists to refresh), drain, hold, verify (without V2:
    nothing was upgraded), rejoin."""
    from console.maintenance.runner import DrainPlan
    from console.maintenance.steps_drain import DRAIN
    from console.maintenance.steps_preflight import PREFLIGHT, P8Baseline
    from console.maintenance.steps_verify import REJOIN, VERIFY, V2Versions

    classes = (DrainPlan, *(c for c in PREFLIGHT if c is not P8Baseline), *DRAIN, H1Hold,
               *(c for c in VERIFY if c is not V2Versions), *REJOIN)
    return [c() for c in classes]
