"""The wizard's drain-only choice in the pilot: d on a node plans a drain for hardware
work; the run stops drained ("press r to rejoin"), r rejoins, and the journal records
the wait. Real session, MaintenanceRun, journal and lock; fake steps (tests/tui/test_wizard)."""

from __future__ import annotations

from console.maintenance.engine import HoldForOperator
from console.maintenance.journal import ClusterLock, unfinished_runs
from console.maintenance.session import WizardSession
from screens.modals import ConfirmModal

from .helpers import screen_text
from .test_wizard import FakePlan, FakeServices, FakeStep, Lab, confirm, journals, plan_node, until


class Hold(FakeStep):
    async def apply(self, ctx):
        if not ctx.facts.get("released"):
            self.lab.calls.append(f"hold {ctx.node}")
            raise HoldForOperator(f"{ctx.node} is drained: do your work")
        return await super().apply(ctx)


def session(app, lab: Lab, fake_lab) -> WizardSession:
    def upgrade_steps(node):
        return [FakeStep(lab, "P1", "Cluster quorate", "preflight"), FakeStep(lab, "U1", "Upgrade", "upgrade")]

    def drain_steps(node):
        return [FakeStep(lab, "P1", "Cluster quorate", "preflight"), FakeStep(lab, "D1", "Move the VIP", "drain"),
                Hold(lab, "H1", "Wait for the operator", "hold"), FakeStep(lab, "V1", "Node online", "verify"),
                FakeStep(lab, "R1", "Unset noout", "rejoin")]

    async def plan_builder(svc, node):
        lab.calls.append(f"plan {node} drain={sorted(getattr(svc, 'drain_only', ()))}")
        return FakePlan(node, [])

    class Services(FakeServices):
        def __init__(self, data, writable):
            super().__init__(data, writable)
            self.drain_only: set[str] = set()

    s = WizardSession(app.cluster, object(), app.read_only, steps=upgrade_steps, drain_steps=drain_steps,
                      plan_builder=plan_builder, services=lambda cluster, sources, writable: Services(
                          fake_lab.data, writable))
    s.refresh_unfinished()
    return s


async def test_drain_only_waits_drained_until_r_rejoins(make_app, lab):
    app, steps = make_app(), Lab()
    async with app.run_test(size=(100, 30)) as pilot:
        app.maintenance = session(app, steps, lab)
        await plan_node(app, pilot, "pve3", "d")
        assert app.maintenance.drain_only and "plan pve3 drain=['pve3']" in steps.calls
        await confirm(app, pilot, "pve3")
        await until(pilot, lambda: app.maintenance.phase == "waiting", "the hold")
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "pve3 is drained: do your work" in text and "press r to rejoin" in text, text
        assert "r: rejoin" in text and "ctrl+b: roll back" in text
        assert [c for c in steps.calls if c.startswith(("apply", "hold"))] == [
            "apply P1 pve3", "apply D1 pve3", "hold pve3"]
        # the journal records the wait: an unfinished run, paused; the lock stays with this console
        assert len(unfinished_runs("home")) == 1 and ClusterLock("home").held()
        assert '"state": "paused"' in journals()[0].read_text()

        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the rejoin question")
        await pilot.press("y")
        await until(pilot, lambda: app.maintenance.phase == "ended", "the rejoin to finish")
        await pilot.pause(0.1)
        assert "maintenance done" in screen_text(app)
        assert [c for c in steps.calls if c.startswith("apply")][-3:] == [
            "apply H1 pve3", "apply V1 pve3", "apply R1 pve3"]
        assert unfinished_runs("home") == [] and not ClusterLock("home").held()


async def test_upgrade_choice_plans_no_drain_only(make_app, lab):
    app, steps = make_app(), Lab()
    async with app.run_test(size=(100, 30)) as pilot:
        app.maintenance = session(app, steps, lab)
        await plan_node(app, pilot, "pve3", "u")
        assert not app.maintenance.drain_only and "plan pve3 drain=[]" in steps.calls
