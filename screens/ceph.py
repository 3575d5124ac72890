"""Ceph: health checks with detail, the OSD tree by host, PGs and recovery, flags, pools, daemons."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Static

from screens.base import LayerScreen
from screens.health_tiles import TILE_LEVEL
from screens.rows import RowMemo, osd_row
from widgets.fast_table import FastTable
from widgets.format import BAD, OK, STYLE, WARN, bar, mark, size
from widgets.history_cells import ceph_history_line  # h-events: sparklines
from widgets.table_columns import Column, Row

CHECK_COLUMNS = (
    Column("severity", "SEV", min_width=6, max_width=6),
    Column("code", "CHECK", min_width=8, max_width=22),
    Column("summary", "SUMMARY", min_width=16, max_width=60, stretch=True),
    Column("detail", "DETAIL", min_width=10, max_width=60, priority=2),
)
OSD_COLUMNS = (
    Column("host", "HOST", min_width=4, max_width=12),
    Column("osd", "OSD", min_width=5, max_width=8),
    Column("up", "UP", min_width=6, max_width=6),
    Column("in", "IN", min_width=5, max_width=5),
    Column("class", "CLASS", min_width=3, max_width=5, priority=3),
    Column("usage", "USAGE", width=15),
    Column("used", "USED/SIZE", min_width=9, max_width=13, align="right", priority=2),
    Column("pgs", "PGS", width=4, align="right"),
    Column("reweight", "WEIGHT", width=6, align="right", priority=4),
)
PG_COLUMNS = (Column("state", "PG STATE", min_width=12, max_width=40, stretch=True),
              Column("count", "COUNT", width=6, align="right"))
POOL_COLUMNS = (
    Column("name", "POOL", min_width=6, max_width=20),
    Column("rep", "SIZE", width=4, priority=3),
    Column("usage", "USED", width=10),  # a short bar: pool names need the room at 80 columns
    Column("stored", "STORED", width=7, align="right", priority=1),
    Column("avail", "AVAIL", width=7, align="right"),
)
HEALTH_LEVEL = {"HEALTH_OK": OK, "HEALTH_WARN": WARN}


def check_row(c) -> Row:
    level, word = (BAD, "err") if c.severity == "HEALTH_ERR" else (WARN, "warn")
    return Row(c.code, (mark(level, word), c.code, c.summary, " | ".join(c.detail)), (c.severity != "HEALTH_ERR",))


def pool_row(p) -> Row:
    rep = f"{p.size}/{p.min_size}" if p.size else "-"
    # PVE's pool list has no max_avail: 0 below 100% used means "not reported", not "full"
    avail = size(p.max_avail) if p.max_avail or p.percent_used >= 100 else "-"
    return Row(p.name, (p.name, rep, bar(p.percent_used, 5), size(p.stored), avail),
               (p.name, p.size, p.percent_used, p.stored, p.max_avail))


def summary_text(c, level: str | None = None) -> Text:
    """`level`: the Ceph layer's verdict (console.verdict, as the tile and `check` say it);
    Ceph's own health word is shown beside it."""
    level = level or HEALTH_LEVEL.get(c.health, BAD)
    t = Text(no_wrap=False)
    t.append(f"{mark(level)[0]} {c.health}", style=STYLE[level])
    used = 100 * c.bytes_used / c.bytes_total if c.bytes_total else 0
    t.append(f"  OSD {c.num_up_osds}/{c.num_osds} up, {c.num_in_osds} in · PG {c.clean_pgs}/{c.num_pgs} clean · "
             f"raw {size(c.bytes_used)}/{size(c.bytes_total)} ({used:.0f}%)")
    t.append("\nflags: ")
    t.append(", ".join(sorted(c.flags)) or "none", style="bold yellow" if c.flags else "")
    r = c.rates
    if r.degraded_objects or r.misplaced_objects or r.recovering_bytes_per_sec:
        parts = []
        if r.degraded_total:
            parts.append(f"degraded {r.degraded_objects}/{r.degraded_total} "
                         f"({100 * r.degraded_objects / r.degraded_total:.1f}%)")
        if r.misplaced_total:
            parts.append(f"misplaced {100 * r.misplaced_objects / r.misplaced_total:.1f}%")
        parts.append(f"recovering {size(r.recovering_bytes_per_sec)}/s")
        t.append("  ▲ recovery: " + ", ".join(parts), style="yellow")
    else:
        t.append(f"  io r {size(r.read_bytes_sec)}/s w {size(r.write_bytes_sec)}/s")
    t.append("\n")
    _daemons_line(t, c)
    return t


def _daemons_line(t: Text, c) -> None:
    """mon quorum, mgr, mds on one line that fits 80 columns (counts, not placeholder names)."""
    out = [m for m in c.mons if m not in c.quorum]
    t.append(f"mon quorum {len(c.quorum)}/{len(c.mons)}" if c.mons else "mon ?")
    if out:
        t.append(f" ✖ out: {','.join(out)}", style=STYLE[BAD])
    if c.mgr_active:
        t.append(f" · mgr {c.mgr_active}")
    elif c.mgr_available:  # newer Ceph's status names no active mgr, only that one is up
        t.append(" · mgr up")
    else:
        t.append(" · mgr ✖ none active", style=STYLE[BAD])
    if c.mgr_standbys:
        t.append(f" +{len(c.mgr_standbys)} standby")
    if c.mds:
        active = [m for m in c.mds if "standby" not in m.state]
        standby = len(c.mds) - len(active)
        t.append(" · mds " + (", ".join(f"{m.name} {m.state.replace('up:', '')}" for m in active) or "none active"))
        if standby:
            t.append(f" +{standby} standby")


class CephScreen(LayerScreen):
    VIEW = "ceph"
    TITLE_TEXT = "ceph"
    SOURCES = ("ceph",)
    CSS_PATH = "ceph.tcss"
    BINDINGS = [Binding("n", "group_by_host", "By host"),
                Binding("ctrl+f", "flags", "Flags", show=False)]  # h-operate2: screens/operate.py ceph_flags_key
    MUTATING_ACTIONS = frozenset({"flags"})
    VIEW_KEYS = [
        ("tab", "next table: checks, OSDs, PG states, pools"),
        ("ctrl+f", "set or unset a Ceph flag (noout, norebalance, ...; asks first)"),
        ("enter", "on a health check: its full detail"),
        ("n", "group OSDs by host (toggle; on by default)"),
        ("/", "filter, e.g. /down /!up /pve2 /osd.3"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.osd_memo = RowMemo(osd_row, lambda o: o.id)

    def compose_body(self) -> ComposeResult:
        yield Static("", id="ceph-summary", markup=False)
        yield FastTable(CHECK_COLUMNS, title="health checks", empty_text="● no health checks", id="checks")
        yield FastTable(OSD_COLUMNS, title="osds", empty_text="no OSDs", id="osds")
        with Horizontal(id="ceph-bottom"):
            yield FastTable(PG_COLUMNS, title="pgs", id="pgs")
            yield FastTable(POOL_COLUMNS, title="pools", id="pools")

    def on_mount(self) -> None:  # LayerScreen.on_mount runs after this by itself (Textual walks the MRO)
        osds = self.query_one("#osds", FastTable)
        osds.group_by("host")
        osds.focus()

    def render_data(self, snapshots, now) -> None:
        snap = snapshots.get("ceph")
        c = snap.data if snap is not None else None
        level = TILE_LEVEL.get(self.story(now).layers["ceph"].level) if c is not None else None
        summary = summary_text(c,
                               level) if c is not None else ("loading…" if snap is None or snap.loading
                                                             else "no Ceph data")
        history = self.app.history  # h-events: client IO / recovery over the last polls
        trend = ceph_history_line(history.ceph_io,
                                  history.ceph_recovery) if history is not None and c is not None else None
        if trend:
            summary.append("\n" + trend)
        self.query_one("#ceph-summary", Static).update(summary)
        self.query_one("#checks", FastTable).set_rows([check_row(x) for x in c.checks] if c else ())
        # hundreds of OSDs: their rows are made in the Hub's worker thread for each new snapshot
        osds = self.rows_ahead("ceph", c, lambda data: self.osd_memo.rows(data.osds)) if c else ()
        self.query_one("#osds", FastTable).set_rows(osds)
        pg_rows = [Row(s, ((s, "" if s == "active+clean" else "yellow"), str(n)), (s, n))
                   for s, n in c.pg_states] if c else []
        self.query_one("#pgs", FastTable).set_rows(pg_rows)
        self.query_one("#pools", FastTable).set_rows([pool_row(p) for p in c.pools] if c else ())

    def on_fast_table_row_selected(self, event: FastTable.RowSelected) -> None:
        if event.table.id != "checks":
            return
        c = self.data_of("ceph")
        check = next((x for x in c.checks if x.code == event.key), None) if c else None
        if check is not None:
            from screens.modals import TextModal

            self.app.push_screen(TextModal(f"{check.code} ({check.severity})", [check.summary, "", *check.detail]))

    def action_group_by_host(self) -> None:
        osds = self.query_one("#osds", FastTable)
        osds.group_by(None if osds.group_column is not None else "host")

    def action_flags(self) -> None:  # h-operate2
        from screens.operate import ceph_flags_key

        ceph_flags_key(self)
