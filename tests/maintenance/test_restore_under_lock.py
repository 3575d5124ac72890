"""A console killed inside U1 leaves its `apt-get dist-upgrade` running on the node. The rollback's
package restore waits for the dpkg lock (fuser), then reads what changed: the downgrade covers what
that apt installed after the kill too, and is not refused by apt's lock. Against the sim, whose
apt-get holds /var/lib/dpkg/lock-frontend while it runs and refuses a second one, as apt does."""

from __future__ import annotations

import asyncio

from console.maintenance.engine import StepContext
from console.maintenance.steps_upgrade import DPKG_LIST, parse_dpkg, restore_packages
from tests.maintenance.conftest import Maint


async def _versions(m: Maint) -> dict[str, str]:
    return parse_dpkg((await m.svc.sh("pve1", DPKG_LIST)).stdout)


async def _restore_while_apt_runs(lab) -> tuple[dict, dict, list[str]]:
    async with Maint(lab, root_dataset="") as m:
        before = await _versions(m)
        seen: list[str] = []
        upgrade = asyncio.create_task(m.sources.ssh.stream(
            "pve1", "DEBIAN_FRONTEND=noninteractive apt-get -y dist-upgrade", seen.append, timeout=120,
            privileged=True))
        while not any(line.startswith("Need to get") for line in seen):  # it holds the lock, installs soon
            await asyncio.sleep(0.01)
        said: list[str] = []
        ctx = StepContext("pve1", m.svc, facts={"packages": before})
        ctx.progress = said.append  # type: ignore[method-assign]
        ctx.output = lambda line: None  # type: ignore[method-assign]
        assert await restore_packages(ctx, m.svc)
        assert upgrade.done() and await upgrade == 0  # the restore began after that apt had ended
        return before, await _versions(m), said


def test_the_restore_waits_for_a_running_apt_and_restores_every_package(lab):
    before, after, said = asyncio.run(_restore_while_apt_runs(lab))
    assert any("the dpkg lock on pve1" in s and "held by PID" in s for s in said), said
    changed = {p: (v, after.get(p)) for p, v in before.items() if after.get(p) != v}
    assert changed == {}, changed
    assert lab.state()["nodes"]["pve1"]["pve_version"] == "8.2.4"
