"""Glue for guest and firewall-pair upgrades: which steps a run's item has, the
run itself (the maintenance engine's MaintenanceRun, journal kind "upgrade"),
finding a guest by vmid or name, and a read-only plan."""

from __future__ import annotations

from typing import Any

from console.errors import ConsoleError
from console.maintenance.engine import BaseStep, StepContext, StepFailed
from console.maintenance.rolling import MaintenanceRun
from console.model import Guest, ProxmoxState

KIND = "upgrade"  # the journal's run kind
FIREWALLS = "firewalls"  # the item name of the firewall pair


def steps_for(item: str) -> list[BaseStep]:
    if item == FIREWALLS:
        from console.upgrade.steps_firewall import firewall_steps

        return firewall_steps(item)
    from console.upgrade.steps_guest import guest_steps

    return guest_steps(item)


class UpgradeRun(MaintenanceRun):
    """A MaintenanceRun of upgrade items. The VIP fail-back that ends a node run is the
    firewall pair's own last step here, so a guest's upgrade never moves a VIP."""

    async def fail_back_vips(self) -> None:
        return None


def find_guest(pve: ProxmoxState, text: str) -> Guest:
    """A guest by vmid or by name (a name two guests share must be given as vmid)."""
    text = text.strip()
    if text.isdigit():
        g = next((g for g in pve.guests if g.vmid == int(text)), None)
        if g is None:
            raise ConsoleError("upgrade", f"no guest {text} in the cluster", "labconsole guests lists them")
        return g
    hits = [g for g in pve.guests if g.name == text]
    if not hits:
        raise ConsoleError("upgrade", f"no guest named {text!r}", "name a guest by vmid or name "
                           "(labconsole guests lists them), or `firewalls` for the firewall pair")
    if len(hits) > 1:
        raise ConsoleError("upgrade", f"{len(hits)} guests are named {text!r} "
                           f"({', '.join(str(g.vmid) for g in hits)}): name one by vmid")
    return hits[0]


async def preview(svc: Any, label: str, emit: Any = None) -> tuple[bool, dict, list[str]]:
    """The item's preflight alone, changing nothing: (passed, facts, lines it printed)."""
    steps = steps_for(label)
    lines: list[str] = []
    ctx = StepContext(label, svc, emit=emit or (lambda e: lines.append(e.text) if e.text else None))
    ok = True
    for step in steps:
        if step.phase != "preflight":
            break
        ctx.step_id = step.id
        try:
            await step.apply(ctx)
        except StepFailed as exc:
            lines.append(f"✖ {exc.message}" + (f" ({exc.hint})" if exc.hint else ""))
            ok = False
            break
    return ok, ctx.facts, lines
