"""Traefik: HTTP/TCP/UDP routers and services with each server's status."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from screens.base import LayerScreen
from screens.rows import RowMemo, router_row, traefik_service_row
from widgets.fast_table import FastTable
from widgets.table_columns import Column

# At 80 columns the rule (which host names) wins over the service column, which mostly repeats
# the router's name; ENTRY and TLS go first, SERVICE next, and come back on wider terminals.
ROUTER_COLUMNS = (
    Column("proto", "P", width=4),
    Column("name", "ROUTER", min_width=8, max_width=30),
    Column("rule", "RULE", min_width=30, max_width=60, stretch=True),
    Column("entrypoints", "ENTRY", min_width=5, max_width=16, priority=4),
    Column("service", "SERVICE", min_width=7, max_width=24, priority=3),
    Column("tls", "TLS", width=3, priority=5),
    Column("status", "STATUS", min_width=10, max_width=10),
    Column("errors", "ERRORS", min_width=8, max_width=60, priority=1),
)
SERVICE_COLUMNS = (
    Column("proto", "P", width=4),
    Column("name", "SERVICE", min_width=8, max_width=30),
    Column("type", "TYPE", min_width=4, max_width=12, priority=3),
    Column("status", "STATUS", min_width=10, max_width=10),
    Column("servers", "SERVERS", min_width=9, max_width=12),
    Column("detail", "SERVER STATUS", min_width=10, max_width=120, stretch=True, priority=1),
)
PROBLEMS = "re:▲|✖"  # the warning / error marks every status cell carries


class TraefikScreen(LayerScreen):
    VIEW = "traefik"
    TITLE_TEXT = "traefik"
    SOURCES = ("traefik",)
    CSS_PATH = "traefik.tcss"
    BINDINGS = [Binding("p", "problems", "Problems only")]
    VIEW_KEYS = [
        ("tab", "routers / services"),
        ("p", "problems only: warnings, errors, DOWN servers (toggle)"),
        ("/", "filter, e.g. /http /warning /!enabled /re:Host\\(`web"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.router_memo = RowMemo(router_row, lambda r: (r.protocol, r.name))
        self.service_memo = RowMemo(traefik_service_row, lambda s: (s.protocol, s.name))

    def compose_body(self) -> ComposeResult:
        yield Static("", id="traefik-summary", markup=False)
        yield FastTable(ROUTER_COLUMNS, title="routers", empty_text="no routers", id="routers")
        yield FastTable(SERVICE_COLUMNS, title="services", empty_text="no services", id="traefik-services")

    def on_mount(self) -> None:  # LayerScreen.on_mount runs after this by itself (Textual walks the MRO)
        self.query_one("#routers", FastTable).focus()

    def _build(self, t) -> tuple:
        """(router rows, service rows, the summary line) of `t`: pure, made in the Hub's worker thread
        for each new snapshot (rows_ahead), so hundreds of routers are not turned into rows on the loop."""
        routers = sorted(t.routers, key=lambda r: ("http", "tcp", "udp").index(r.protocol)
                         if r.protocol in ("http", "tcp", "udp") else 3)
        counts = {p: sum(1 for r in t.routers if r.protocol == p) for p in ("http", "tcp", "udp")}
        eps = " ".join(f"{e.name}{e.address}" for e in t.entrypoints)  # "web:80 websecure:443"
        summary = (f"Traefik {t.version or '?'} · routers http {counts['http']} tcp {counts['tcp']} udp {counts['udp']}"
                   + (f" · entrypoints {eps}" if eps else ""))
        return self.router_memo.rows(routers), self.service_memo.rows(t.services), summary

    def render_data(self, snapshots, now) -> None:
        t = self.data_of("traefik")
        routers, services, summary = self.rows_ahead("traefik", t, self._build) if t else ((), (), None)
        self.query_one("#routers", FastTable).set_rows(routers)
        self.query_one("#traefik-services", FastTable).set_rows(services)
        if summary is not None:
            self.query_one("#traefik-summary", Static).update(summary)

    def action_problems(self) -> None:
        tables = list(self.query(FastTable))
        on = not all(t.filter_text == PROBLEMS for t in tables)
        for t in tables:
            t.set_filter(PROBLEMS if on else "")
