"""Health (home): a tile per layer, the node table, and every finding by severity."""

from __future__ import annotations

from textual.app import ComposeResult
from textual import events
from textual.containers import Container

from screens.base import LayerScreen
from screens.health_tiles import TILES
from screens.rows import RowMemo, node_row
from widgets.fast_table import FastTable
from widgets.format import mark
from widgets.history_cells import NODE_HISTORY_COLUMNS, with_node_history  # h-events: sparklines
from widgets.table_columns import Column, Row
from widgets.tile import Tile

try:  # written by the integrator; the screen still shows tiles and nodes without it
    from console.health import evaluate
except ImportError:  # pragma: no cover - only before console/health.py exists
    evaluate = None

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
FINDING_COLUMNS = (
    Column("severity", "SEV", min_width=6, max_width=6),
    Column("layer", "LAYER", min_width=5, max_width=7, priority=2),
    Column("subject", "SUBJECT", min_width=6, max_width=16),
    Column("text", "FINDING", min_width=40, max_width=90, stretch=True),  # at 80 columns the hint goes first
    Column("hint", "HINT", min_width=10, max_width=60, priority=3),
)
SEVERITY = {"critical": ("bad", "crit", 0), "unknown": ("unknown", "unkn", 1),
            "warning": ("warn", "warn", 2), "info": ("off", "info", 3)}


def finding_row(index: int, f) -> Row:
    level, word, rank = SEVERITY.get(f.severity, ("unknown", f.severity, 1))
    key = f"{f.layer}|{f.subject}|{f.text}"
    return Row(key, (mark(level, word), f.layer, f.subject, f.text, f.hint or ""), (rank, f.layer, f.subject, f.text, f.hint))


class HealthScreen(LayerScreen):
    VIEW = "health"
    TITLE_TEXT = "health"
    SOURCES = ()  # all of them
    CSS_PATH = "health.tcss"
    VIEW_KEYS = [
        ("enter", "on a finding: go to its subject; on a node: its guests"),
        ("tab", "move between the node table and the findings"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.node_memo = RowMemo(node_row, lambda n: n.name)
        self.findings: dict[str, object] = {}

    def compose_body(self) -> ComposeResult:
        with Container(id="tiles"):
            for layer, _, _ in TILES:
                yield Tile(layer, id=f"tile-{layer}")
        yield FastTable(NODE_COLUMNS + NODE_HISTORY_COLUMNS, title="nodes",  # h-events: + CPU~ MEM~ NET~
                        empty_text="no node data yet", id="nodes")
        yield FastTable(FINDING_COLUMNS, title="findings", empty_text="● no findings: all layers healthy",
                        id="findings")

    def on_mount(self) -> None:  # LayerScreen.on_mount runs after this by itself (Textual walks the MRO)
        self.set_class(self.app.size.width < 120, "-narrow")
        findings = self.query_one("#findings", FastTable)
        findings.stick_to_top = True  # a new critical finding must not land above the visible rows
        findings.focus()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < 120, "-narrow")  # tiles in two rows of three

    def render_data(self, snapshots, now) -> None:
        for layer, source, headline in TILES:
            self.query_one(f"#tile-{layer}", Tile).show(*headline(snapshots.get(source), now))
        pve_snap = snapshots.get("proxmox")
        pve = pve_snap.data if pve_snap is not None else None
        nodes = self.query_one("#nodes", FastTable)
        nodes.empty_text = "Proxmox not configured" if pve_snap is not None and not pve_snap.configured \
            else "no node data yet"
        nodes.set_rows(with_node_history(self.node_memo.rows(pve.nodes), self.app.history) if pve else ())  # h-events
        findings_table = self.query_one("#findings", FastTable)
        if evaluate is None:
            findings_table.empty_text = "health rules not available"
            return
        findings = evaluate(snapshots, now)
        rows = [finding_row(i, f) for i, f in enumerate(findings)]
        self.findings = {row.key: f for row, f in zip(rows, findings)}
        findings_table.set_rows(rows)

    def on_fast_table_row_selected(self, event: FastTable.RowSelected) -> None:
        if event.table.id == "findings":
            finding = self.findings.get(event.key)
            if finding is not None:
                self.app.call_later(self.app.jump_to, finding.layer, finding.subject)
        elif event.table.id == "nodes":
            self.app.call_later(self.app.jump_to, "guests", event.key)
