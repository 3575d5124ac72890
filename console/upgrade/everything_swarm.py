"""A Swarm service's image upgrade as an item of the upgrade-everything run: the
safe update of console/ops/swarm_upgrade.py (parallelism 1, start-first for 2+
replicas, Swarm rolls back by itself on a failing task) wrapped in engine steps,
so it is journaled, resumable and rolled back like every other item.

  S0 preflight   the service is there and its tag points at a newer digest
  S1 upgrade     send the update and watch it to converged (done) or rolled back
                 (failed: Swarm already returned it to its previous spec)

A resumed S1 whose update already reached the swarm follows it to its end
instead of sending it again (the service's UpdateStatus.StartedAt tells).
"""

from __future__ import annotations

from typing import Any

from console.errors import ConsoleError
from console.maintenance.engine import BaseStep, StepContext, StepFailed
from console.upgrade.everything_plan import SERVICE_PREFIX

SWARM_WAIT = 600.0  # lab seconds an image update may take to converge or roll back


def _name(ctx: StepContext) -> str:
    return ctx.node.removeprefix(SERVICE_PREFIX)


def _up_to_date(exc: ConsoleError) -> bool:
    return "already runs the newest" in exc.message  # plan_upgrade's refusal when there is nothing to do


class S0Preflight(BaseStep):
    id, title, phase = "S0", "Preflight: the service and the image its tag points at now", "preflight"

    async def apply(self, ctx: StepContext) -> dict:
        from console.ops import swarm_upgrade as su

        try:
            plan = await su.plan_upgrade(ctx.services.sources, _name(ctx))
        except ConsoleError as exc:
            if _up_to_date(exc):
                ctx.facts["nothing"] = True
                ctx.progress(f"{exc.message}: nothing to do")
                return {}
            raise StepFailed(self.id, exc.message, exc.hint) from None
        ctx.facts.update(service=plan.info.name, before=plan.info.spec.words, target=plan.ref,
                         before_started=plan.info.update_started)
        ctx.progress(su.upgrade_sentence(plan))
        return {}


class S1Update(BaseStep):
    id, title, phase = "S1", "Update the image; watch until converged or rolled back", "upgrade"

    async def apply(self, ctx: StepContext) -> dict:
        from console.ops import swarm_upgrade as su
        from console.ops.swarm import find_service

        if ctx.facts.get("nothing"):
            return {}
        svc: Any = ctx.services
        sources, name = svc.sources, _name(ctx)
        wait = svc.timeout(SWARM_WAIT)
        now = await find_service(sources, name)
        if now.update_started != ctx.facts.get("before_started"):  # sent before an interruption
            ctx.progress("the update was sent before the run stopped: following it to its end")
            res = await su.follow_upgrade(sources, name, ctx.facts.get("before_started"), ctx.progress, wait, svc.poll)
        else:
            try:
                plan = await su.plan_upgrade(sources, name, info=now)
            except ConsoleError as exc:
                if _up_to_date(exc):
                    ctx.progress(exc.message)
                    return {}
                raise StepFailed(self.id, exc.message, exc.hint) from None
            res = await su.upgrade(sources, now.id, plan=plan, progress=ctx.progress, wait=wait, poll=svc.poll)
        ctx.facts.update(outcome=res.outcome, message=res.message, running=res.running)
        if res.outcome == su.CONVERGED:
            return {"sent": True}
        if res.outcome == su.ROLLED_BACK:
            raise StepFailed(self.id, res.message, "Swarm returned the service to its previous spec by itself")
        raise StepFailed(self.id, f"{res.outcome or 'failed'}: {res.message}")

    async def undo(self, ctx: StepContext, data: dict) -> None:
        """Roll the service back to the spec it ran before, unless Swarm did, or nothing was sent."""
        from console.ops import swarm_upgrade as su
        from console.ops.swarm import find_service, rollback

        svc: Any = ctx.services
        name = _name(ctx)
        if ctx.facts.get("nothing") or ctx.facts.get("outcome") == su.ROLLED_BACK:
            ctx.progress(f"{name}: nothing to roll back (Swarm rolled it back, or it was up to date)")
            return
        now = await find_service(svc.sources, name)
        if now.update_started == ctx.facts.get("before_started"):
            ctx.progress(f"{name}: the update never reached the swarm: nothing to roll back")
            return
        res = await rollback(svc.sources, name, progress=ctx.progress, wait=svc.timeout(SWARM_WAIT))
        if not res.ok:
            raise StepFailed(self.id, f"rollback of {name} failed: {res.message}", "`labconsole swarm rollback`")


def swarm_steps(label: str) -> list[BaseStep]:
    return [S0Preflight(), S1Update()]
