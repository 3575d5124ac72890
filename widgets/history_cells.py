"""History (console.history) as table cells and pane lines: the node table's CPU~ MEM~ NET~
columns, the guest detail pane's lines, the Ceph summary's client IO / recovery line."""

from __future__ import annotations

from widgets.format import size
from widgets.sparkline import latest, spark
from widgets.table_columns import Column, Row

HISTORY_WIDTH = 12  # cells of a sparkline column: the last 12 RRD minutes
# CPU and memory are fractions of the capacity and drawn on 0..100% (a steady 30% reads as a low,
# flat line, not as the swings an auto-ranged line would draw from a 2% wobble); rates (net, disk,
# Ceph IO) have no ceiling and are drawn from 0 to their own peak.

# Optional columns: hidden while empty (no RRD yet, or none readable) and first to go when narrow.
NODE_HISTORY_COLUMNS = (
    Column("cpu_hist", "CPU~", width=HISTORY_WIDTH, priority=5),  # trends go before the kernel when narrow
    Column("mem_hist", "MEM~", width=HISTORY_WIDTH, priority=6),
    Column("net_hist", "NET~", width=HISTORY_WIDTH, priority=6),
)


def node_history_cells(series, width: int = HISTORY_WIDTH) -> tuple[str, str, str]:
    """(cpu, mem, net) sparkline cells of a node's RrdSeries; empty strings without history."""
    if series is None or not series.times:
        return ("", "", "")
    return (spark(series.cpu, width, lo=0.0, hi=1.0), spark(series.mem, width, lo=0.0, hi=1.0),
            spark(series.net, width, lo=0.0))


def with_node_history(rows: list[Row], history) -> list[Row]:
    """Node rows (keyed by node name) with the three history cells appended."""
    if history is None:
        return rows
    out = []
    for row in rows:
        series = history.node_series(row.key)
        cells = node_history_cells(series)
        sort = (latest(series.cpu), latest(series.mem), latest(series.net)) if series is not None else (None,) * 3
        base_sort = row.sort if row.sort is not None else tuple(None for _ in row.cells)
        out.append(Row(row.key, row.cells + cells, base_sort + sort, row.style))
    return out


def _rate(v: float | None) -> str:
    return "-" if v is None else f"{size(v)}/s"


def guest_history_lines(series, width: int = 16) -> list[str]:
    """Detail-pane lines for a guest's RrdSeries: cpu, memory, net and disk over the last `width` minutes."""
    if series is None or not series.times:
        return ["history   loading…"]
    cpu, mem = latest(series.cpu), latest(series.mem)
    return [
        f"cpu  {spark(series.cpu, width, lo=0.0, hi=1.0)} {'-' if cpu is None else f'{cpu * 100:.0f}%'}",
        f"mem  {spark(series.mem, width, lo=0.0, hi=1.0)} {'-' if mem is None else f'{mem * 100:.0f}%'}",
        f"net  {spark(series.net, width, lo=0.0)} {_rate(latest(series.net))}",
        f"disk {spark(series.disk, width, lo=0.0)} {_rate(latest(series.disk))}",
    ]


def ceph_history_line(io, recovery, width: int = 20) -> str | None:
    """'client io ▁▂▅▇ 7.0M/s · recovery ▁▁▁▁ 0B/s' from rings of polls; None before two polls."""
    if len(io) < 2:
        return None
    line = f"client io {spark(io, width, lo=0.0).lstrip()} {_rate(io[-1])}"
    if any(recovery):
        line += f" · recovery {spark(recovery, width, lo=0.0).lstrip()} {_rate(recovery[-1])}"
    return line
