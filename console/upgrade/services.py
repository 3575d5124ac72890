"""What the guest-upgrade steps drive: the maintenance services (sources, SSH,
waits, timeouts) plus the way into each guest, the run's id (it names the
snapshot) and the cluster's [upgrade] settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from console.errors import ConsoleError
from console.maintenance.engine import StepContext, StepFailed
from console.maintenance.services import MaintenanceServices
from console.model import Guest
from console.upgrade.guest_access import GuestShell, GuestTarget
from console.upgrade.inventory import guest_target

SNAPSHOT_PREFIX = "labconsole-"
UPGRADE_TIMEOUTS = {"guest_upgrade": 3600.0, "guest_boot": 300.0, "probe_settle": 120.0, "snapshot": 600.0}


@dataclass
class UpgradeServices(MaintenanceServices):
    run_id: str = ""  # set once the journal exists; names the snapshot labconsole-RUNID

    def limit(self, name: str) -> float:
        if name in UPGRADE_TIMEOUTS and name not in self.timeouts:
            return UPGRADE_TIMEOUTS[name]
        return super().limit(name)

    @property
    def shell(self) -> GuestShell:
        return GuestShell(self.sources, self.ssh)

    @property
    def settings(self) -> Any:
        return self.cluster.upgrade

    async def guest(self, ctx: StepContext, vmid: int) -> Guest:
        """The guest as the API shows it now (it may have moved node)."""
        pve = await self.pve()
        g = next((g for g in pve.guests if g.vmid == vmid), None)
        if g is None:
            raise StepFailed(ctx.step_id or "?", f"guest {vmid} is not in the cluster any more")
        return g

    async def target(self, ctx: StepContext, vmid: int) -> tuple[Guest, GuestTarget]:
        g = await self.guest(ctx, vmid)
        return g, await guest_target(self.sources, self.cluster, g)

    def snapshot_name(self, facts: dict) -> str:
        name = facts.get("snapshot")
        if name:
            return str(name)
        if not self.run_id:
            raise ConsoleError("upgrade", "no run id to name the snapshot after")
        return SNAPSHOT_PREFIX + self.run_id
