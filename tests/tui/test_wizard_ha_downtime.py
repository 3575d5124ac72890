"""The wizard names the HA guests whose rules leave them no other node and offers
`d` to accept their downtime; the preflight is then run again with it accepted."""

from __future__ import annotations

from console.maintenance.session import WizardSession

from .helpers import screen_text
from .test_wizard import FakeServices, Lab, plan_node, until

STUCK = {"vmid": 110, "name": "homeassistant", "sid": "vm:110", "rule": "pin-110",
         "why": "strict rule pin-110 allows only pve3"}


class Services(FakeServices):
    def __init__(self, lab_data, writable):
        super().__init__(lab_data, writable)
        self.accept_downtime: set[int] = set()


class Plan:
    def __init__(self, node, accepted):
        self.node, self.problems = node, []
        self.ha_stuck = [dict(STUCK, accepted=110 in accepted)]

    def text(self):
        return f"Plan for {self.node}:\n  VM 110 homeassistant: stays: HA rule pin-110"


class RulesCheck:
    id, title, phase = "P2b", "HA rules leave every HA guest a node", "preflight"

    def __init__(self, calls):
        self.calls = calls

    async def check(self, ctx):
        plan = ctx.services.plans[ctx.node]
        self.calls.append(f"P2b accepted={plan.ha_stuck[0]['accepted']}")
        return None if plan.ha_stuck[0]["accepted"] else "HA rules leave no node for vm:110 homeassistant"


async def test_accept_downtime_key_rechecks_with_the_guest_accepted(make_app, lab):
    app, steps = make_app(), Lab()

    async def plan_builder(svc, node):
        return Plan(node, svc.accept_downtime)

    async with app.run_test(size=(120, 30)) as pilot:
        app.maintenance = WizardSession(app.cluster, object(), app.read_only, steps=lambda n: [RulesCheck(steps.calls)],
                                        plan_builder=plan_builder,
                                        services=lambda cluster, sources, writable: Services(lab.data, writable))
        app.maintenance.refresh_unfinished()
        await plan_node(app, pilot, "pve3")
        text = screen_text(app)
        assert "HA rules keep vm:110 homeassistant (rule pin-110) on pve3" in text and "y: accept" in text
        assert not app.maintenance.preflight_ok and steps.calls == ["P2b accepted=False"]
        await pilot.press("y")
        await until(pilot, lambda: app.maintenance.preflight_ok, "the re-check with the downtime accepted")
        assert steps.calls == ["P2b accepted=False", "P2b accepted=True"]
        assert app.maintenance.accept_downtime == {110} and app.maintenance.downtime_to_accept == []
        await pilot.pause()
        assert "c: confirm by typing pve3" in screen_text(app)
