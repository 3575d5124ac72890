"""What every view shares: header, stale banners, `/` filter, `:` prompt, esc, `?`.

A screen renders only when it is the current one: the App forwards snapshots
to the current screen alone, and each screen re-renders from the Hub's latest
snapshots when it is resumed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen, Screen

from widgets.cluster_header import ClusterHeader
from widgets.fast_table import FastTable
from widgets.key_bar import KeyBar
from widgets.prompt_bar import PromptBar
from widgets.stale_banner import StaleBanner

COMMON_KEYS = [  # one line each at 80x24: the guests view's help fills the screen exactly
    ("1-8", "health guests ceph swarm traefik vrrp maint events"),
    (":", "a view, ctx [NAME] (alone: all clusters), q; tab, ↑"),
    ("/", "filter: text, re:REGEX, !inverts; enter keeps it"),
    ("s  shift+A-Z", "sort: next column / by letter (again: reverse)"),
    ("↑↓ jk PgUp/Dn gG", "move; tab: next table (focused: lit header)"),
    ("esc", "back out: clear filter, close pane, then health"),
    ("ctrl+r", "refresh now"),
    ("ctrl+p", "command palette"),
    ("?", "this help"),
    (":q  ctrl+q", "quit"),
]


class LayerScreen(Screen):
    VIEW = ""
    TITLE_TEXT = ""
    SOURCES: tuple[str, ...] = ()
    VIEW_KEYS: list[tuple[str, str]] = []  # screen-specific keys for `?`
    MUTATING_ACTIONS: frozenset[str] = frozenset()  # hidden from the key bar when read-only
    # `/` and `:` are priority bindings: they open the prompt before the keys typed right after them
    # are dispatched, so a fast "/jelly" or ":swarm" cannot lose its "j" or "s" to a table's binding.
    # While the prompt is open they are disabled (check_action) and type into it.
    BINDINGS = [
        Binding("slash", "open_filter", "Filter", priority=True),
        Binding("colon", "open_command", "Command", key_display=":", priority=True),
        Binding("escape", "back", "Back", show=False),
        Binding("question_mark", "help", "Help"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._filter_target: FastTable | None = None
        self.render_count = 0  # how often render_data ran; tests check hidden screens stay idle
        self._ahead: dict[str, tuple[Any, Any]] = {}  # source -> (its data, what rows_ahead built of it)
        self._ahead_hub: Any = None
        self._ahead_unfollow: dict[str, Callable[[], None]] = {}
        self._shown = True

    def compose(self) -> ComposeResult:
        yield ClusterHeader()
        for source in self.SOURCES:
            yield StaleBanner(source, id=f"stale-{source}")
        yield from self.compose_body()
        yield PromptBar(commands=self.app.command_names, history=self.app.command_history)
        yield KeyBar()

    def compose_body(self) -> ComposeResult:
        return iter(())

    # ------------------------------------------------------------ data
    def on_mount(self) -> None:
        self.refresh_data()

    def on_screen_resume(self) -> None:
        self._shown = True  # read by rows_ahead's thread: rows are built ahead for the screen shown only
        self.refresh_data()

    def on_screen_suspend(self) -> None:
        # under a dialog (a confirmation, a picker) this screen is still what the operator comes back
        # to: its rows stay built ahead, so closing the dialog does not build them on the loop
        top = self.app.screen
        self._shown = isinstance(top, ModalScreen) and top is not self

    def refresh_data(self) -> None:
        app = self.app
        now = app.clock()
        self.update_status(now)
        self.render_count += 1
        if self.SOURCES:
            loading = any(s is None or s.loading for s in map(app.snapshots.get, self.SOURCES))
            for widget in self.loading_widgets():
                if widget.loading != loading:
                    widget.loading = loading
        self.render_data(app.snapshots, now)

    def loading_widgets(self) -> list:
        """What shows a loading indicator until the first data arrives."""
        return list(self.query(FastTable))

    def snapshot_arrived(self, source: str) -> None:
        if not self.SOURCES or source in self.SOURCES:
            self.refresh_data()
        else:
            self.update_status(self.app.clock())

    def update_status(self, now: float) -> None:
        app = self.app
        snaps = app.snapshots
        headers = self.query(ClusterHeader)
        if not headers:  # the 1 s tick can land while this screen is still composing or being torn down
            return
        story = self.story(now)
        headers.first().show(app.cluster_name, app.cluster_color, app.read_only, self.TITLE_TEXT, snaps, now,
                             story.sources)
        for banner in self.query(StaleBanner):
            banner.show(snaps.get(banner.source), now)

    def render_data(self, snapshots: dict, now: float) -> None:
        raise NotImplementedError

    def story(self, now: float | None = None):
        """The cluster's one health story (console.incidents.Story) for the current snapshots:
        the header, the Health screen and every banner read their verdicts from it."""
        from console.health_story import keeper_for

        app = self.app
        return keeper_for(app, app.cluster_name).story(app.snapshots, app.clock() if now is None else now)

    def rows_ahead(self, source: str, data: Any, build: Callable[[Any], Any]) -> Any:
        """`build(data)`: pure (a RowMemo's rows), and from the first call on made in the Hub's
        worker thread for every new snapshot of `source`, so that 2,000 guests' rows are not
        built on the event loop; made here when the thread's are not for this `data`."""
        hub = getattr(self.app, "hub", None)
        if hub is not None and hasattr(hub, "derive"):
            if self._ahead_hub is not hub:  # a cluster switch: follow the new Hub
                self._stop_ahead()
                self._ahead_hub = hub
            if source not in self._ahead_unfollow:
                def work(_prev, snap, _all):
                    if snap.source != source or snap.data is None or not self._shown:
                        return None
                    return snap.data, build(snap.data)

                def keep(_snap, built) -> None:
                    if built is not None:
                        self._ahead[source] = built

                self._ahead_unfollow[source] = hub.derive(work, keep)
        got = self._ahead.get(source)
        if got is not None and got[0] is data:
            return got[1]
        built = build(data)  # the first render, or data the thread skipped: here, once
        self._ahead[source] = (data, built)
        return built

    def _stop_ahead(self) -> None:
        for unfollow in self._ahead_unfollow.values():
            unfollow()
        self._ahead_unfollow.clear()
        self._ahead.clear()

    def on_unmount(self) -> None:
        self._stop_ahead()

    def data_of(self, source: str):
        snap = self.app.snapshots.get(source)
        return None if snap is None else snap.data

    # ------------------------------------------------------------ subject jump
    def show_subject(self, subject: str) -> None:
        """Focus the table with a row about `subject`, filtered to it: the one whose row is keyed by
        it (the OSD table for osd.1) before one that merely mentions it (a Ceph check's detail)."""
        tables = list(self.query(FastTable))
        keyed = [t for t in tables if t.get_row(subject) is not None]
        for table in keyed + tables:
            if table.find(subject):
                table.set_filter(subject)
                table.focus()
                return

    # ------------------------------------------------------------ keys
    @property
    def prompt(self) -> PromptBar:
        return self.query_one(PromptBar)

    def target_table(self) -> FastTable | None:
        focused = self.focused
        if isinstance(focused, FastTable):
            return focused
        tables = [t for t in self.query(FastTable) if t.display]
        return tables[0] if tables else None

    def action_open_filter(self) -> None:
        self._filter_target = self.target_table()
        if self._filter_target is not None:
            self.prompt.open("/", self._filter_target.filter_text)

    def open_command(self) -> None:
        self.prompt.open(":")

    def action_open_command(self) -> None:
        self.open_command()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in ("open_filter", "open_command"):
            prompts = self.query(PromptBar)
            return not (prompts and prompts.first().is_open)
        return True

    def on_prompt_bar_typed(self, event: PromptBar.Typed) -> None:
        if self._filter_target is not None:
            self._filter_target.set_filter(event.value)

    def on_prompt_bar_done(self, event: PromptBar.Done) -> None:
        event.stop()
        target = self._filter_target
        if event.mode == "/":
            if target is not None:
                if event.cancelled:
                    target.set_filter("")
                target.focus()
        elif event.mode == ":":
            self.focus_main()
            if not event.cancelled and event.value:
                self.app.run_console_command(event.value)

    def focus_main(self) -> None:
        table = self.target_table()
        if table is not None:
            table.focus()

    def close_panes(self) -> bool:
        """Close a detail/log pane if one is open; True if something closed."""
        return False

    def action_back(self) -> None:
        for table in self.query(FastTable):
            if table.filter_text:
                table.set_filter("")
                return
        if self.close_panes():
            return
        if self.VIEW != "health":
            self.app.switch_mode("health")

    def sort_help(self) -> list[tuple[str, str]]:
        """One line per table of this view: its shift+letter sort keys, from its actual columns."""
        out = []
        for table in self.query(FastTable):
            letters = table.sort_letters()
            if letters:
                name = table.title or table.id or "table"
                out.append((f"sort {name}", " ".join(f"{c}:{label}" for c, label in letters)))
        return out

    def action_help(self) -> None:
        from screens.modals import HelpModal

        keys = list(self.VIEW_KEYS) + self.sort_help()
        if self.app.read_only and any(k.startswith("ctrl") for k, _ in keys):
            keys.append(("", "read-only: ctrl-keys that change the cluster are refused"))
        self.app.push_screen(HelpModal(self.TITLE_TEXT, keys + [("", "everywhere")] + COMMON_KEYS))
