"""Health (home): a tile per layer (its verdict), the node table, and the incidents: one row
each, root cause first, with how long ago it started, expandable to its effects
(console.incidents). Enter or d on an incident or a finding opens its detail pane
(screens/finding_detail.py), which jumps to the objects it names; d on a node opens the node's
(screens/node_detail.py: versions, subscription, APT repositories, guests, HA, Ceph daemons)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.widgets import Static

from screens.base import LayerScreen
from screens.health_incidents import COLUMNS as INCIDENT_COLUMNS
from screens.health_incidents import incident_rows, silence_line
from screens.health_tiles import LAYERS, tile_of
from screens.rows import RowMemo, node_row
from widgets.fast_table import FastTable
from widgets.history_cells import NODE_HISTORY_COLUMNS, with_node_history  # h-events: sparklines
from widgets.table_columns import Column
from widgets.tile import Tile

if TYPE_CHECKING:
    from screens.node_detail import NodeSoftwareCache

NODE_COLUMNS = (
    Column("node", "NODE", min_width=4, max_width=14),
    Column("status", "STATUS", min_width=8, max_width=10),
    Column("cpu", "CPU", width=4, align="right"),
    Column("mem", "MEM", min_width=9, max_width=13, align="right"),
    Column("uptime", "UP", width=6, align="right", priority=2),
    Column("pve", "PVE", min_width=5, max_width=8, priority=3),
    Column("kernel", "KERNEL", min_width=6, max_width=16, priority=4),
    Column("updates", "UPD", width=3, align="right", priority=1),
    Column("lrm", "HA/MAINT", min_width=8, max_width=14, stretch=True),
)


class HealthScreen(LayerScreen):
    VIEW = "health"
    TITLE_TEXT = "health"
    SOURCES = ()  # all of them
    CSS_PATH = "health.tcss"
    VIEW_KEYS = [
        ("enter / d", "on an incident or a finding: its detail pane (full text, hint, evidence, start); "
                      "there 1-9 go to the objects it names, enter to its own subject (as k9s: d describes)"),
        ("space", "on an incident: show or hide its effects"),
        ("enter", "on a node: its guests"),
        ("d", "on a node: its detail (versions, subscription, APT repositories, Ceph, HA); "
              "there enter its guests, x shell, ctrl+n evacuate"),
        ("tab", "move between the node table and the incidents"),
    ]
    BINDINGS = [Binding("space", "toggle_incident", "Expand", show=False),
                Binding("d", "detail", "Detail")]

    def __init__(self) -> None:
        super().__init__()
        self.node_memo = RowMemo(node_row, lambda n: n.name)
        self.findings: dict[str, tuple] = {}  # row key -> (incident, its Assessed finding or None)
        self.starts: dict[str, float] = {}  # incident key -> epoch seconds it started (event timeline)
        self.expanded: set[str] = set()  # incident keys shown with their effects
        self.incident_keys: set[str] = set()
        self.node_software: NodeSoftwareCache | None = None  # the node pane's reads, kept briefly

    def compose_body(self) -> ComposeResult:
        with Container(id="tiles"):
            for layer in LAYERS:
                yield Tile(layer, id=f"tile-{layer}")
        yield FastTable(NODE_COLUMNS + NODE_HISTORY_COLUMNS, title="nodes",  # h-events: + CPU~ MEM~ NET~
                        empty_text="no node data yet", id="nodes")
        yield Static("", id="silences", markup=False)
        yield FastTable(INCIDENT_COLUMNS, title="incidents", empty_text="● no findings: all layers healthy",
                        id="findings")

    def on_mount(self) -> None:  # LayerScreen.on_mount runs after this by itself (Textual walks the MRO)
        self.set_class(self.app.size.width < 120, "-narrow")
        findings = self.query_one("#findings", FastTable)
        findings.stick_to_top = True  # a new critical finding must not land above the visible rows
        findings.focus()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < 120, "-narrow")  # tiles in two rows of three

    def update_status(self, now: float) -> None:
        super().update_status(now)  # the header's dots
        tiles = self.query(Tile)
        if tiles:  # the tiles follow on the same tick: a stale layer turns on both at once
            story = self.story(now)
            for tile in tiles:
                tile.show(*tile_of(story.layers[tile.layer_name]))

    def render_data(self, snapshots, now) -> None:
        story = self.story(now)
        pve_snap = snapshots.get("proxmox")
        pve = pve_snap.data if pve_snap is not None else None
        nodes = self.query_one("#nodes", FastTable)
        nodes.empty_text = "Proxmox not configured" if pve_snap is not None and not pve_snap.configured \
            else "no node data yet"
        nodes.set_rows(with_node_history(self.node_memo.rows(pve.nodes), self.app.history) if pve else ())  # h-events
        self.show_incidents(story)

    def silences(self) -> tuple:
        from console.health_story import keeper_for

        return keeper_for(self.app, self.app.cluster_name).context()[1]

    def show_incidents(self, story) -> None:
        silences = self.silences()
        self.incident_keys = {i.key for i in story.incidents if i.effects or i.impact}
        self.expanded &= {i.key for i in story.incidents}
        self.starts = self.incident_starts(story)
        rows, self.findings = incident_rows(story.incidents, self.expanded, silences, self.starts,
                                            self.app.wall_clock())
        self.query_one("#findings", FastTable).set_rows(rows)
        banner = self.query_one("#silences", Static)
        text = silence_line(silences, self.app.wall_clock())
        banner.display = bool(text)
        banner.update(text)

    def incident_starts(self, story) -> dict[str, float]:
        from console.incident_start import incident_starts

        timeline = getattr(self.app, "timeline", None)
        return incident_starts(story.incidents, timeline.timeline() if timeline is not None else ())

    def toggle(self, key: str | None) -> bool:
        if key not in self.incident_keys:
            return False
        self.expanded ^= {key}
        self.show_incidents(self.story())
        return True

    def action_toggle_incident(self) -> None:
        table = self.query_one("#findings", FastTable)
        if table.has_focus:
            self.toggle(table.cursor_key)

    def action_detail(self) -> None:
        nodes = self.query_one("#nodes", FastTable)
        if nodes.has_focus and nodes.cursor_key is not None:
            self.open_node_detail(nodes.cursor_key)
            return
        table = self.query_one("#findings", FastTable)
        if table.has_focus and table.cursor_key is not None:
            self.open_detail(table.cursor_key)

    def open_detail(self, key: str) -> None:
        from screens.finding_detail import FindingDetail

        target = self.findings.get(key)
        if target is None:
            return
        incident, assessed = target
        silences = self.silences()
        self.app.push_screen(FindingDetail(incident, assessed, self.starts.get(incident.key), self.app.wall_clock(),
                                           silences), self.jump_from_detail)

    def open_node_detail(self, node: str) -> None:
        from screens.node_detail import NodeDetail, NodeSoftwareCache, after_detail

        if self.node_software is None:
            self.node_software = NodeSoftwareCache(self.app.clock)
        self.app.push_screen(NodeDetail(node, self.node_software),
                             lambda intent: self.app.call_later(after_detail, self.app, intent))

    def jump_from_detail(self, target: tuple[str, str] | None) -> None:
        if target is not None:
            self.app.call_later(self.app.jump_to, *target)

    def on_fast_table_row_selected(self, event: FastTable.RowSelected) -> None:
        if event.table.id == "findings" and event.key is not None:
            self.open_detail(event.key)
        elif event.table.id == "nodes":
            self.app.call_later(self.app.jump_to, "guests", event.key)
