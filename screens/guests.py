"""Guests: every VM and container across nodes, with a detail pane; the guest
keys (screens/guest_actions.py) act on the cursor row or on the marked rows,
and their queue stays on screen below the table."""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Static

from console.ha_rules import rules_for, sid_of
from console.inert import cap
from screens import guest_actions as flows
from screens.base import LayerScreen
from screens.guest_detail_lines import GuestDetailCache, detail_lines
from screens.rows import RowMemo, guest_row
from widgets.batch_queue import BatchQueue, QueueRow
from widgets.fast_table import FastTable
from widgets.format import duration, mem_cell, pct
from widgets.history_cells import guest_history_lines  # h-events: sparklines
from widgets.table_columns import Column

GUEST_COLUMNS = (
    Column("vmid", "VMID", width=5, align="right"),
    Column("name", "NAME", min_width=8, max_width=28),
    Column("type", "T", width=2),
    Column("node", "NODE", min_width=4, max_width=14),
    Column("status", "STATUS", min_width=9, max_width=11),
    Column("cpu", "CPU", width=4, align="right"),
    Column("mem", "MEM", min_width=9, max_width=13, align="right", priority=2),
    Column("uptime", "UP", width=6, align="right", priority=3),
    Column("ha", "HA", min_width=4, max_width=10, priority=2),
    Column("lock", "LOCK", min_width=4, max_width=10, priority=1),
    Column("tags", "TAGS", min_width=4, max_width=60, priority=4, stretch=True),
)


DETAIL_CAP = 300  # characters of a name or the tags in the detail pane (a 10,000-character name fills no screen)


class GuestsScreen(LayerScreen):
    VIEW = "guests"
    TITLE_TEXT = "guests"
    SOURCES = ("proxmox",)
    CSS_PATH = "guests.tcss"
    # One grammar with the other views: ctrl+n moves everything off a node (swarm: drain), ctrl+b goes back
    # (snapshot rollback; swarm rollback, VIP fail-back), ctrl+d deletes (k9s), ctrl+k kills (k9s: hard stop).
    BINDINGS = [
        Binding("n", "group_by_node", "By node"),
        Binding("d", "toggle_detail", "Detail"),
        Binding("z", "snapshots", "Snapshots"),
        Binding("ctrl+backslash", "unmark", "Unmark", show=False, key_display="ctrl+\\"),  # k9s; u: :updates' upgrade
        Binding("ctrl+o", "start", "Start"),
        Binding("ctrl+w", "shutdown", "Shutdown"),
        Binding("ctrl+e", "reboot", "Reboot"),
        Binding("ctrl+k", "stop", "Stop", show=False),
        Binding("ctrl+g", "migrate", "Migrate"),
        Binding("ctrl+n", "evacuate", "Evacuate", show=False),
        Binding("ctrl+l", "clear_queue", "Clear queue", show=False),
    ]
    MUTATING_ACTIONS = frozenset({"start", "shutdown", "reboot", "stop", "migrate", "evacuate"})
    VIEW_KEYS = [
        ("enter / d", "detail: config, addresses, HA, backup"),
        ("n", "group by node (toggle)"),
        ("/", "e.g. /running /!stopped /pve2 /re:^1\\d\\d /prod"),
        ("space / ctrl+\\", "mark rows / unmark all: keys act on marks"),
        ("ctrl+o/w/e", "start / clean shutdown / reboot"),
        ("ctrl+k", "hard stop (type the VMID or name)"),
        ("ctrl+g / ctrl+n", "migrate (pick a node) / evacuate its node"),
        ("z", "snapshots: ctrl+t take, ctrl+b back, ctrl+d del"),
        ("ctrl+l", "clear finished items from the queue"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.memo = RowMemo(guest_row, lambda g: g.vmid)  # vmids are unique in a PVE cluster
        self._guest_list: tuple = ()
        self._ha_rules: tuple | None = None
        self.queue = flows.GuestQueue(self)
        self.details = GuestDetailCache()

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="guests-body"):
            yield FastTable(GUEST_COLUMNS, title="guests", empty_text="no guests", id="guests", markable=True)
            yield Static("", id="guest-detail", markup=False)
        yield BatchQueue(id="guest-queue")

    @property
    def table(self) -> FastTable:
        return self.query_one("#guests", FastTable)

    def loading_widgets(self) -> list:
        return [self.query_one("#guests-body")]

    def render_data(self, snapshots, now) -> None:
        pve = self.data_of("proxmox")
        if pve is None:
            self.table.set_rows(())
            return
        self._guest_list = pve.guests
        self._ha_rules = pve.ha_rules
        self.table.set_rows(self.rows_ahead("proxmox", pve, lambda data: self.memo.rows(data.guests)))  # h-loop
        self._update_detail()

    def guest(self, key: str | None):
        """The Guest under a row key ("qemu/101"), looked up only when needed."""
        return next((g for g in self._guest_list if g.key == key), None) if key else None

    def show_subject(self, subject: str) -> None:
        # findings name guests "vm:101" / "ct:200"
        if ":" in subject and subject.split(":", 1)[1].isdigit():
            self.table.set_filter(f"re:^{subject.split(':', 1)[1]}\\b")  # the VMID cell comes first
            self.table.focus()
            return
        super().show_subject(subject)

    def action_group_by_node(self) -> None:
        self.table.group_by(None if self.table.group_column is not None else "node")

    def action_toggle_detail(self) -> None:
        self.toggle_class("-detail")
        self._update_detail()

    def on_fast_table_row_selected(self, event: FastTable.RowSelected) -> None:
        if not self.has_class("-detail"):
            self.action_toggle_detail()

    def on_fast_table_row_highlighted(self, event: FastTable.RowHighlighted) -> None:
        self._update_detail()

    def close_panes(self) -> bool:
        if self.table.clear_marks():
            return True
        if self.has_class("-detail"):
            self.remove_class("-detail")
            return True
        return False

    def _update_detail(self) -> None:
        if not self.has_class("-detail"):
            return
        g = self.guest(self.table.cursor_key)
        pane = self.query_one("#guest-detail", Static)
        if g is None:
            pane.update("no guest selected")
            return
        # a Text, never markup: every value here was written by someone on the cluster
        text = Text(no_wrap=False, overflow="fold")
        text.append(cap(g.name, DETAIL_CAP), style="bold")
        text.append(f"  {'VM' if g.type == 'qemu' else 'CT'} {g.vmid}\n")
        lines = [
            f"node      {g.node}",
            f"status    {g.status}" + ("  (template)" if g.template else ""),
            f"cpu       {pct(g.cpu)} of {g.maxcpu} vCPU",
            f"memory    {mem_cell(g.mem, g.maxmem)}",
            f"uptime    {duration(g.uptime)}",
            f"HA        {g.ha_state or 'not managed'}",
            f"lock      {g.lock or '-'}",
            f"tags      {cap(', '.join(g.tags), DETAIL_CAP) or '-'}",
        ]
        rules = rules_for(self._ha_rules, sid_of(g))
        if g.ha_state is not None or rules:  # one line per rule (it wraps in a narrow pane)
            known = "not read" if self._ha_rules is None else "none"
            lines.append("HA rules" + ("" if rules else f"  {known}"))
            lines += [f" {cap(r.summary(), DETAIL_CAP)}" for r in rules]
        if getattr(self.app.actions, "guest_detail", None) is not None:  # config, addresses, snapshots, backup
            lines += detail_lines(self.details.get(g))
            if self.details.due(g):
                self.run_worker(partial(self._load_detail, g), group="guest-detail", exclusive=True,
                                exit_on_error=False)
        history = self.app.history  # h-events: the guest's RRD, read while its pane is open
        if history is not None and history.reader is not None:
            lines += ["", *guest_history_lines(history.cached_guest_series(g))]
            if history.reader.guest_due(g.type, g.vmid):
                self.run_worker(self._load_history(g), group="guest-rrd", exclusive=True, exit_on_error=False)
        text.append("\n".join(lines))
        pane.update(text)

    async def _load_history(self, g) -> None:  # h-events
        before = self.app.history.cached_guest_series(g)
        series = await self.app.history.guest_series(g)
        if series is not before and self.guest(self.table.cursor_key) is not None:
            self._update_detail()

    async def _load_detail(self, g) -> None:
        await self.details.load(self.app.actions, g)
        shown = self.guest(self.table.cursor_key)
        if shown is not None and shown.vmid == g.vmid:
            self._update_detail()

    # ------------------------------------------------------------ guest actions (screens/guest_actions.py)
    def show_queue(self, rows: list[QueueRow]) -> None:
        self.query_one(BatchQueue).show(rows)

    def _targets(self) -> list:
        """The marked guests, or the one under the cursor."""
        marked = [g for g in map(self.guest, self.table.marked_keys()) if g is not None]
        if marked:
            return marked
        g = self.guest(self.table.cursor_key)
        if g is None:
            self.notify("no guest selected", severity="warning")
        return [g] if g is not None else []

    def _lifecycle(self, action: str) -> None:
        guests = self._targets()
        if not guests:
            return
        if len(guests) == 1 and not self.table.marked_keys():
            g = guests[0]
            flows.start_flow(self, f"{action} {g.vmid}", lambda: flows.prepare_power(self.app, g.vmid, action))
            return
        flows.start_flow(self, f"{action} {len(guests)} guests", lambda: flows.prepare_batch(self.app, guests, action))

    def action_start(self) -> None:
        self._lifecycle("start")

    def action_shutdown(self) -> None:
        self._lifecycle("shutdown")

    def action_reboot(self) -> None:
        self._lifecycle("reboot")

    def action_stop(self) -> None:
        self._lifecycle("stop")

    def action_migrate(self) -> None:
        guests = self._targets()
        if not guests:
            return
        if len(guests) == 1 and not self.table.marked_keys():
            vmid = guests[0].vmid
            flows.start_flow(self, f"migrate {vmid}", lambda: flows.prepare_migrate(self.app, vmid))
            return
        pve = self.data_of("proxmox")
        nodes = list(pve.nodes) if pve is not None else []
        flows.start_flow(self, f"migrate {len(guests)} guests",
                         lambda: flows.prepare_batch_migrate(self.app, guests, nodes))

    def action_evacuate(self) -> None:
        g = self.guest(self.table.cursor_key)
        if g is None:
            self.notify("put the cursor on a guest of the node to evacuate", severity="warning")
            return
        by_vmid = {x.vmid: x for x in self._guest_list}
        flows.start_flow(self, f"evacuate {g.node}", lambda: flows.prepare_evacuate(self.app, g.node, by_vmid))

    def action_unmark(self) -> None:
        self.table.clear_marks()

    def action_clear_queue(self) -> None:
        n = self.queue.clear_finished()
        self.notify(f"{n} finished item(s) cleared" if n else "nothing finished to clear", timeout=2)

    def action_snapshots(self) -> None:
        from screens.snapshots import SnapshotsModal

        g = self.guest(self.table.cursor_key)
        if g is None:
            self.notify("no guest selected", severity="warning")
            return
        if getattr(self.app.actions, "guest_snapshots", None) is None:
            self.notify("snapshots are not available for this cluster", severity="warning")
            return
        self.app.push_screen(SnapshotsModal(g.vmid, f"{'VM' if g.type == 'qemu' else 'CT'} {g.vmid} ({g.name})"))
