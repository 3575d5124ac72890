"""The maintenance engine's Swarm steps (D2 drain, R3 activate) against a real dockerd
in swarm mode (issue 5: "the Swarm drain/activate steps also against the real dockerd").

The real swarm has one node, so draining it leaves nowhere for the tasks to go: D2 must
drain, see its tasks shut down, and then refuse to call the node drained (its gate waits
for every service to be replaced elsewhere). R3 then makes the node active again and waits
until every service has converged back.
"""

from __future__ import annotations

import pytest

from console.config_model import ClusterConfig, SwarmConfig
from console.maintenance.engine import StepContext, StepFailed
from console.maintenance.planner import Plan
from console.maintenance.services import MaintenanceServices
from console.maintenance.steps_drain import D2SwarmDrain
from console.maintenance.steps_verify import R3SwarmActive
from console.sources import Sources
from console.sources.swarm import SwarmSource
from tests.realdaemon.test_docker_real import docker_lab  # noqa: F401 - the module-scoped real dockerd

pytestmark = pytest.mark.realdaemon


async def test_drain_gate_and_activate_against_real_dockerd(docker_lab):  # noqa: F811
    swarm_cfg = SwarmConfig(managers=(docker_lab.endpoint,), timeout=10.0)
    src = SwarmSource(swarm_cfg, None)
    cluster = ClusterConfig(name="real", swarm=swarm_cfg)
    svc = MaintenanceServices(cluster, Sources(cluster, False, ssh=None, by_name={"swarm": src}),
                              poll=0.2, timeouts={"swarm_drain": 8.0})
    before = await src.fetch()
    web = next(s for s in before.services if s.name == "web")
    assert web.replicas_running == web.replicas_desired == 2
    host = before.nodes[0].hostname
    svc.plans["node"] = Plan("node", swarm_node=host, swarm_drain=True)
    lines: list[str] = []
    ctx = StepContext("node", svc, emit=lambda e: lines.append(e.text or ""))
    try:
        with pytest.raises(StepFailed, match="not yet replaced elsewhere: web"):
            await D2SwarmDrain().apply(ctx)
        drained = await src.fetch()
        assert drained.nodes[0].availability == "drain"
        assert not [t for t in drained.tasks if t.service_id == web.id and t.state == "running"]
        assert f"docker node update --availability drain {host}" in lines
    finally:
        await R3SwarmActive().apply(ctx)  # the step's own wait: every service converged again
    after = await src.fetch()
    assert after.nodes[0].availability == "active"
    web = next(s for s in after.services if s.name == "web")
    assert web.replicas_running == web.replicas_desired == 2
