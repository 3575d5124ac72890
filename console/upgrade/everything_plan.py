"""One ordered plan to upgrade everything: the firewall pair (BACKUP first), the
nodes one at a time (the rolling node maintenance), then the CTs and VMs inside
(every host node is done by then), then the Swarm images.

Built from the updates inventory (console/upgrade/inventory.py); every row
becomes one item, named. Items with nothing pending are "up to date" and
items that cannot be read are "skipped: reason": both are listed, neither is
run. Each item to run has a label, the name its run record carries in the
journal: a node's name, `firewalls`, `VMID/NAME` for a guest, `service:NAME`.
No Textual here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from console.config_model import ClusterConfig
from console.errors import ConsoleError
from console.upgrade.inventory import UpdateRow, inventory
from console.upgrade.runner import FIREWALLS

UPGRADE, UP_TO_DATE, SKIPPED = "upgrade", "up to date", "skipped"
SERVICE_PREFIX = "service:"
LAYER_ORDER = ("firewalls", "node", "ct", "vm", "service")


@dataclass
class PlanItem:
    layer: str  # firewalls | node | ct | vm | service
    label: str  # the journal's item name (see the module docstring)
    action: str  # UPGRADE | UP_TO_DATE | SKIPPED
    reason: str = ""  # why skipped; what is pending, in words
    pending: int | None = None
    security: int = 0
    reboot: bool | None = None
    where: str = ""  # the node a guest runs on
    members: list[str] = field(default_factory=list)  # the firewall pair, in upgrade order
    lane: str = ""  # nodes | guests | services (console/upgrade/everything_lanes.py)
    alongside: list[str] = field(default_factory=list)  # items it may run at the same time as

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self, n: int | None) -> str:
        head = f"{n:>3}. " if n is not None else "   - "
        what = f"{self.layer:<9} {self.label}" if self.label != self.layer else self.label
        if self.action == UPGRADE:
            return f"{head}{what}: {self.reason}" + (f" [may run alongside: {', '.join(self.alongside)}]"
                                                       if self.alongside else "")
        if self.action == UP_TO_DATE:
            return f"{head}{what}: up to date"
        return f"{head}{what}: skipped: {self.reason}"


@dataclass
class EverythingPlan:
    cluster: str
    items: list[PlanItem]

    @property
    def todo(self) -> list[PlanItem]:
        return [i for i in self.items if i.action == UPGRADE]

    @property
    def labels(self) -> list[str]:
        return [i.label for i in self.todo]

    def to_dict(self) -> dict:
        from console.upgrade.everything_lanes import MAX_GUESTS

        lanes = {lane: [i.label for i in self.todo if i.lane == lane] for lane in ("nodes", "guests", "services")}
        return {"cluster": self.cluster, "order": self.labels, "items": [i.to_dict() for i in self.items],
                "lanes": lanes, "max_guests": MAX_GUESTS,
                "counts": {a: sum(1 for i in self.items if i.action == a) for a in (UPGRADE, UP_TO_DATE, SKIPPED)}}

    def text(self) -> str:
        todo = self.todo
        lines = [f"Upgrade everything on {self.cluster}: {len(todo)} item(s) to upgrade, in this order "
                 "(preflight before each; the run stops at the first failure, that item rolled back):"]
        lines += [i.line(n) for n, i in enumerate(todo, 1)] or ["     nothing to upgrade"]
        if todo:
            from console.upgrade.everything_lanes import lane_lines

            lines += lane_lines(todo)
        rest = [i for i in self.items if i.action != UPGRADE]
        if rest:
            lines.append("Not run:")
            lines += [i.line(None) for i in rest]
        return "\n".join(lines)


def _pending_words(row: UpdateRow) -> str:
    if row.kind == "service":
        return row.note or "a newer image digest"
    sec = f" ({row.security} security)" if row.security else ""
    rb = "; reboot" if row.reboot else ""
    return f"{row.pending} package(s) pending{sec}{rb}"


def item_of(row: UpdateRow, layer: str, label: str) -> PlanItem:
    item = PlanItem(layer, label, UPGRADE, pending=row.pending, security=row.security, reboot=row.reboot,
                    where=row.where if row.kind != "node" else "")
    if not row.inspectable or row.pending is None:
        item.action, item.reason = SKIPPED, row.note.removeprefix("not inspectable: ") or "cannot be read"
    elif row.pending == 0:
        item.action = UP_TO_DATE
    else:
        item.reason = _pending_words(row)
    return item


def firewall_item(rows: list[UpdateRow], cluster: ClusterConfig, vrrp: Any) -> PlanItem | None:
    """The pair as one item, BACKUP first (named from the VRRP state when it can be read)."""
    if not rows:
        return None
    masters = {f.name for f in (vrrp.firewalls if vrrp else ()) if any(i.state == "MASTER" for i in f.instances)}
    order = sorted((r.name for r in rows), key=lambda n: (n in masters, n))
    item = PlanItem("firewalls", FIREWALLS, UPGRADE, members=order,
                    pending=sum(r.pending or 0 for r in rows), security=sum(r.security for r in rows),
                    reboot=any(r.reboot for r in rows))
    blind = [r for r in rows if not r.inspectable or r.pending is None]
    if cluster.vrrp is None or len(cluster.vrrp.firewalls) != 2 or len(rows) != 2:
        item.action, item.reason = SKIPPED, "the pair needs a [vrrp] table with two firewalls (each a VM)"
    elif blind:
        item.action = SKIPPED
        item.reason = "; ".join(f"{r.name}: {r.note.removeprefix('not inspectable: ')}" for r in blind)
    elif not item.pending:
        item.action = UP_TO_DATE
    else:
        first, then = order
        roles = ("BACKUP", "MASTER") if masters else ("first", "then")
        item.reason = (f"{first} ({roles[0]}) then {then} ({roles[1]}), the VIP moved between them; "
                       + ", ".join(f"{r.name} {_pending_words(r)}" for r in rows))
    return item


def node_order(pve: Any, names: list[str]) -> list[str]:
    """Fewest running guests first, as the rolling node maintenance orders them."""
    running = dict.fromkeys(names, 0)
    for g in pve.guests:
        if g.status == "running" and g.node in running:
            running[g.node] += 1
    return sorted(names, key=lambda n: (running[n], n))


async def service_rows(sources: Any) -> list[UpdateRow]:
    """The Swarm services as inventory rows (newer digest = 1 pending), from h-swarmimg's registry check."""
    from console.ops.swarm_images import CANNOT, NEWER, service_image_updates

    src = sources.get("swarm")
    if src is None:
        return []
    try:
        state = await src.fetch()
    except ConsoleError as exc:
        return [UpdateRow("service", "swarm", inspectable=False, note=f"cannot check: {exc.message}")]
    ups = await service_image_updates(state, mirrors=dict(src.cfg.registry_mirrors), timeout=src.cfg.timeout)
    rows = []
    for u in ups:
        row = UpdateRow("service", u.service, via="registry", note=u.text)
        if u.status == CANNOT:
            row.inspectable = False
        else:
            row.pending = 1 if u.status == NEWER else 0
        rows.append(row)
    return rows


async def build(sources: Any, cluster: ClusterConfig, rows: list[UpdateRow] | None = None) -> EverythingPlan:
    """Read every layer now (or take `rows` already read) and order the items."""
    if rows is None:
        rows = await inventory(sources, cluster)
        if not any(r.kind == "service" for r in rows):  # the inventory's Swarm hook is not registered
            rows = rows + await service_rows(sources)
    pve = await sources.get("proxmox").fetch()
    vrrp = None
    if sources.get("vrrp") is not None:
        try:
            vrrp = await sources.get("vrrp").fetch()
        except ConsoleError:
            vrrp = None  # the pair's order is then by name; its own preflight decides at run time
    items: list[PlanItem] = []
    fw = firewall_item([r for r in rows if r.kind == "firewall"], cluster, vrrp)
    if fw is not None:
        items.append(fw)
    nodes = {r.name: r for r in rows if r.kind == "node"}
    items += [item_of(nodes[n], "node", n) for n in node_order(pve, list(nodes))]
    for kind in ("ct", "vm"):
        items += [item_of(r, kind, f"{r.vmid}/{r.name}") for r in rows if r.kind == kind]
    items += [item_of(r, "service", SERVICE_PREFIX + r.name) for r in rows if r.kind == "service"]
    # upgrade items keep the layer order; within nodes, the rolling order above
    items.sort(key=lambda i: LAYER_ORDER.index(i.layer))
    from console.upgrade.everything_lanes import plan_lanes

    await plan_lanes(sources, cluster, pve, items)
    return EverythingPlan(cluster.name, items)
