"""`:ctx` without a name: every configured cluster at a glance, pick one to switch.

Rows come from console.cluster_glance (the others, polled slowly in the background) and from the
live Hub's Story (the current cluster); this screen only draws them. Enter dismisses with the
cluster's name (the App switches through its usual path, which asks first during a maintenance
run); esc dismisses with None.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Group
from rich.errors import StyleSyntaxError
from rich.padding import Padding
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from console.cluster_glance import ClusterGlance, ClusterRow, row_of, waiting_row
from widgets.cluster_header import VERDICT_LEVEL
from widgets.format import MARK, STYLE, UNKNOWN, age

STATUS_LEVEL = {"ok": "ok", "warning": "warn", "critical": "crit", "unknown": "unknown"}
SHORT = {"cluster": "cl", "guests": "gu", "ceph": "ce", "swarm": "sw", "traefik": "tr", "vrrp": "vr"}
TOP_STYLE = {"critical": "bold red", "warning": "yellow", "unknown": "magenta"}


def _badge(color: str) -> Style:
    try:
        return Style.parse(f"bold {color}")
    except StyleSyntaxError:  # config validation should catch it; never crash the picker
        return Style.parse("bold")


def render_row(row: ClusterRow, name_width: int, now: float, read_only: bool = False) -> Group:
    """Two lines: name, verdict, layer dots, age; then (indented, wrapped) the top incident or why
    the cluster cannot be read."""
    head = Text(no_wrap=True, overflow="ellipsis")
    head.append("▸ " if row.current else "  ")
    head.append(row.name.ljust(name_width), style=_badge(row.color))
    head.append(" RO" if read_only else "   ", style="bold yellow")
    if row.status is None:
        head.append("  polling…", style="dim")
    else:
        level = VERDICT_LEVEL.get(STATUS_LEVEL.get(row.status, "unknown"), UNKNOWN)
        head.append(f"  {MARK[level]} {row.status.upper():<8}", style=STYLE[level])
        for layer, lv in row.layers:
            dot = VERDICT_LEVEL.get(lv, UNKNOWN)
            head.append(" ")
            head.append(MARK[dot], style=STYLE[dot])
            head.append(SHORT.get(layer, layer[:2]), style="dim")
        seconds = row.age(now)
        head.append(f"  {age(seconds)}" if seconds is not None else "", style="dim")
    if row.current:
        head.append("  (current)", style="dim italic")
    if row.error:
        detail = Text(row.error, style="bold red")
    elif row.top:
        detail = Text(row.top, style=TOP_STYLE.get(row.top_severity or "", ""))
    else:
        detail = Text("no problems found" if row.status is not None else "", style="green")
    return Group(head, Padding(detail, (0, 0, 0, 4)))


class ClusterPicker(ModalScreen[str | None]):
    DEFAULT_CSS = """
    ClusterPicker { align: center middle; }
    ClusterPicker > OptionList { width: 100; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q", "dismiss(None)", "Close")]

    def __init__(self, glance: ClusterGlance, current_row: Callable[[], ClusterRow]) -> None:
        super().__init__()
        self.glance = glance
        self.current_row = current_row  # the live cluster's row, from the App's Story
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def options(self) -> OptionList:
        return self.query_one(OptionList)

    def rows(self) -> list[ClusterRow]:
        current = self.current_row()
        return [current if c.name == current.name else self.glance.rows.get(c.name, waiting_row(c))
                for c in self.glance.config.clusters]

    def compose(self) -> ComposeResult:
        rows = self.rows()
        width = max(len(r.name) for r in rows)
        options = OptionList(*(Option(self._prompt(r, width), id=r.name) for r in rows))
        options.border_title = "clusters"
        options.border_subtitle = "enter switches · esc closes"
        yield options

    def on_mount(self) -> None:
        names = [c.name for c in self.glance.config.clusters]
        current = self.current_row().name
        self.options.highlighted = names.index(current) if current in names else 0
        self.options.focus()
        self._unsubscribe = self.glance.subscribe(lambda _row: self.redraw())
        self.redraw()  # a round that ended between compose and now
        self.set_interval(1.0, self.redraw)  # ages, and the live cluster's verdict

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    def redraw(self) -> None:
        found = self.query(OptionList)
        if not self.is_attached or not found:  # being dismissed
            return
        options = found.first()
        rows = self.rows()
        width = max(len(r.name) for r in rows)
        for r in rows:
            options.replace_option_prompt(r.name, self._prompt(r, width))

    def _prompt(self, row: ClusterRow, width: int) -> Group:
        read_only = any(c.read_only for c in self.glance.config.clusters if c.name == row.name)
        return render_row(row, width, self.glance.clock(), read_only)  # the App's clock

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)


def live_row(app) -> ClusterRow:
    """The current cluster's row from the Story its screens show (console.health_story)."""
    from console.health_story import keeper_for

    now = app.clock()
    story = keeper_for(app, app.cluster_name).story(app.snapshots, now)
    return row_of(app.cluster, app.snapshots, story, now, current=True)
