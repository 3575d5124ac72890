"""The Textual App: one mode per view, the Hub wired to the current screen.

The only module under console/ that imports textual. Screens live in screens/,
widgets in widgets/. Data arrives from the Hub's pollers; the App keeps no
copy of its own but forwards each new snapshot to the screen on display.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from textual import events
from textual.app import App, ScreenStackError
from textual.binding import Binding
from textual.message import Message
from textual.worker import Worker, WorkerState

from console import commands
from console.collector import QUIET_INPUT, Collector
from console.config_model import ClusterConfig, Config
from console.errors import ConsoleError
from console.layers import COMMAND_VIEWS, LAYERS, VIEWS, view_of
from console.memory import release_free_memory, tune_malloc
from console.poller import Hub, Snapshot
from screens.base import LayerScreen
from screens.health import HealthScreen
from screens.palette import ConsoleCommands
from widgets.prompt_bar import PromptBar

HubFactory = Callable[[ClusterConfig], Any]  # -> (Hub, Actions | None) or a Hub



def _lazy(module: str, name: str) -> Callable[[], Any]:
    """A mode factory that imports its screen on first use (keeps start-up fast)."""
    def make():
        import importlib

        return getattr(importlib.import_module(module), name)()
    return make


def _modes() -> dict[str, Any]:
    """Health, one mode per layer with a screen (console/layers.py), Maintenance, Events, the `:` views."""
    layer_modes = {layer.view: _lazy(*layer.screen.split(":")) for layer in LAYERS if layer.screen is not None}
    command_modes = {v.name: _lazy(*v.screen.split(":")) for v in COMMAND_VIEWS}
    return {"health": HealthScreen, **layer_modes, "maintenance": _lazy("screens.maintenance", "MaintenanceScreen"),
            "events": _lazy("screens.events", "EventsScreen"), **command_modes}


class SnapshotArrived(Message):
    def __init__(self, snap: Snapshot) -> None:
        super().__init__()
        self.snap = snap


TRIM_EVERY = 30  # ticks (seconds) between handing free heap pages back to the system
NOTICES_KEPT = 200  # notifications remembered in ConsoleApp.notices


class ConsoleApp(App):
    TITLE = "labconsole"
    MODES = _modes()
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    BINDINGS = [
        *(Binding(str(n), f"view('{v}')", v.title(), show=False) for n, v in enumerate(VIEWS, 1)),
        Binding("colon", "command", "Command", key_display=":"),
        Binding("ctrl+r", "refresh", "Refresh"),
        Binding("ctrl+q", "quit", "Quit", show=False),
        Binding("x", "shell", "Shell", show=False),  # h-operate2: a shell on the guest/node row (screens/operate.py)
    ]

    def __init__(self, config: Config, cluster_name: str | None, hub_factory: HubFactory,
                 read_only: bool = False, clock: Callable[[], float] = time.monotonic,
                 start_polling: bool = True, wall_clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.config = config
        self.cluster: ClusterConfig = config.cluster(cluster_name)
        self.hub_factory = hub_factory
        self.read_only_flag = read_only
        self.clock = clock
        self.wall_clock = wall_clock  # epoch time, for timestamps the systems report
        self.start_polling = start_polling
        self.hub: Hub = Hub()
        self.actions: Any = None
        self.command_history: list[str] = []
        self._unsubscribe: Callable[[], None] | None = None
        self.collector = Collector(clock)  # console/collector.py: full collections at quiet moments
        self._last_input = clock()
        self._resume_pending = False  # the resume banner waits for the cluster to answer (its identity)
        self._ticks = 0
        self.notices: deque[str] = deque(maxlen=NOTICES_KEPT)  # "title: message" of each notification
        self.maintenance: Any = None  # console.maintenance.session.WizardSession of the current cluster
        self.timeline: Any = None  # h-events: console.event_recorder.EventRecorder of the current cluster
        self.history: Any = None  # h-events: console.history.History (sparklines) of the current cluster
        self.glance: Any = None  # h-ctx: console.cluster_glance.ClusterGlance, started by the first `:ctx`

    # ------------------------------------------------------------ properties screens read
    @property
    def snapshots(self) -> dict[str, Snapshot]:
        return self.hub.snapshots

    @property
    def cluster_name(self) -> str:
        return self.cluster.name

    @property
    def cluster_color(self) -> str:
        return self.cluster.color

    @property
    def read_only(self) -> bool:
        return self.read_only_flag or self.cluster.read_only

    def command_names(self) -> list[str]:
        return commands.candidates(c.name for c in self.config.clusters)

    def notify(self, message: str, *, title: str = "", **kwargs: Any) -> None:
        """Show a toast, and remember it in `notices` (what the operator was told, newest last).
        Its text is shown as it is: toasts carry names and errors from the cluster and what the
        operator typed, so markup in them is never interpreted (screens' notify lands here too)."""
        self.notices.append(f"{title}: {message}")
        super().notify(message, title=title, **{**kwargs, "markup": False})

    # ------------------------------------------------------------ hub wiring
    def on_mount(self) -> None:
        self.collector.tune()
        self._connect(self.cluster)
        self.switch_mode("health")
        self.set_interval(1.0, self.tick)
        self._offer_resume()

    def _connect(self, cluster: ClusterConfig, built: Any = None) -> None:
        built = self.hub_factory(cluster) if built is None else built
        self.hub, self.actions = built if isinstance(built, tuple) else (built, None)
        self.cluster = cluster
        self._unsubscribe = self.hub.subscribe(lambda snap: self.post_message(SnapshotArrived(snap)))
        # h-events: the event timeline and the sparklines' history follow the same Hub
        from console.event_recorder import EventRecorder
        from console.history import History

        self.timeline = EventRecorder.attach(self.hub, cluster.name, self.wall_clock)
        self.run_worker(self.timeline.load_history(), group="events-load", exit_on_error=False)
        self.history = History.attach(self.hub, self.actions,
                                      lambda: self.post_message(SnapshotArrived(Snapshot("history"))))
        if self.start_polling:
            self.hub.start()

    async def _disconnect(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self.hub.stop()
        if self.timeline is not None:  # h-events
            self.timeline.detach()
        if self.history is not None:  # h-events
            await self.history.detach()
        sources = getattr(self.actions, "sources", None)  # console.actions.Actions holds the SSH pool
        if sources is not None and hasattr(sources, "close"):
            try:
                await sources.close()
            except Exception as exc:  # noqa: BLE001 - closing must not block a switch or quit
                self.log.warning(f"closing sources: {exc}")

    async def on_unmount(self) -> None:
        self.collector.restore()
        await self._disconnect()
        if self.glance is not None:  # h-ctx
            await self.glance.stop()

    def on_snapshot_arrived(self, message: SnapshotArrived) -> None:
        if message.snap.ok_at is not None:
            self.collector.freeze_start_up()  # long-lived objects from start-up leave the collector's scans
        try:
            screen = self.screen
        except ScreenStackError:  # tearing down: a late snapshot (or history refresh) has no screen left
            return
        if self._resume_pending and message.snap.source == "proxmox" and message.snap.data is not None:
            self._offer_resume()  # now the cluster's identity is known
        if isinstance(screen, LayerScreen):
            screen.snapshot_arrived(message.snap.source)

    def tick(self) -> None:
        """The 1 s timer: memory trim, data ages and stale marks on the screen shown."""
        self._ticks += 1
        try:
            screen = self.screen
        except ScreenStackError:  # tearing down: no screen left to update
            return
        if isinstance(screen, LayerScreen):
            screen.update_status(self.clock())
        collected = self.collector.tick(self._busy(), getattr(self.hub, "busy", False))
        if collected or self._ticks % TRIM_EVERY == 0:
            # console/memory.py: RSS stays flat over hours; right after a full collection most of all,
            # while the pages it freed are still free
            release_free_memory()

    def _busy(self) -> bool:
        """The operator typed in the last QUIET_INPUT s, or a worker runs (a batch, an action, a
        maintenance run): console/collector.py holds automatic full collections meanwhile."""
        return self.clock() - self._last_input < QUIET_INPUT or any(w.is_running for w in self.workers)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self._last_input = self.clock()
            self.collector.hold(True)  # before the key's handler starts a batch (the tick follows up)
        await super().on_event(event)

    async def switch_cluster(self, name: str) -> None:
        try:
            cluster = self.config.cluster(name)
            built = self.hub_factory(cluster)  # before stopping the old one: a bad cluster keeps you where you are
        except ConsoleError as exc:
            self.notify(str(exc), title="ctx", severity="error")
            return
        await self._disconnect()
        self._connect(cluster, built)
        if self.glance is not None:  # h-ctx: the new current cluster's row comes from the live Hub now
            self.glance.watch(cluster.name)
        if self.maintenance is not None and not self.maintenance.active:
            self.maintenance = None  # the wizard starts over on the new cluster
        self._offer_resume()
        self.notify(f"switched to cluster {cluster.name}" + (" (read-only)" if self.read_only else ""), title="ctx")
        if isinstance(self.screen, LayerScreen):
            self.screen.refresh_data()
            self.screen.refresh_bindings()  # read-only may have changed: the key bar follows

    # ------------------------------------------------------------ keys and commands
    def _on_key(self, event: events.Key) -> None:
        # Type-ahead: keys typed in the same burst as `/` or `:` were forwarded to the widget that
        # had focus before the prompt opened and bubble up here. Give them to the prompt instead of
        # matching them against bindings (a "2" in ":ctx lab2" must not switch views).
        # (Textual calls App._on_key itself afterwards unless prevent_default() is called.)
        focused = self.focused
        if isinstance(focused, PromptBar) and focused.is_open and event.is_printable and event.character:
            event.prevent_default()
            event.stop()
            focused.insert_text_at_cursor(event.character)

    def action_view(self, view: str) -> None:
        if view != self.current_mode:
            self.switch_mode(view)

    def action_command(self) -> None:
        if isinstance(self.screen, LayerScreen):
            self.screen.open_command()

    def action_shell(self) -> None:
        from screens.operate import shell_here

        shell_here(self)

    def action_refresh(self) -> None:
        self.hub.refresh()
        self.notify("refreshing", timeout=1)

    def run_console_command(self, text: str) -> None:
        cmd = commands.parse(text)  # console/commands.py: the grammar
        if cmd.kind == commands.QUIT_NOW:  # no questions, even while a maintenance run applies (journal allows resume)
            self.exit(0)
        elif cmd.kind == commands.QUIT:
            self._leave("quit", lambda: self.exit(0))
        elif cmd.kind == commands.CTX:
            if not cmd.args:
                self.open_cluster_picker()
            else:
                self.request_switch(cmd.args[0])
        elif cmd.kind == commands.VIEW:
            self.action_view(cmd.args[0])
        elif cmd.kind == commands.UNKNOWN:
            self.notify(f"unknown command {cmd.args[0]!r}; try: {', '.join(self.command_names()[:8])}",
                        title=":", severity="warning")

    def request_switch(self, target: str) -> None:
        """Switch cluster; during a maintenance run only once confirmed."""
        self._leave(f"switch to {target}", lambda: self.run_worker(
            self.switch_cluster(target), group="ctx", exclusive=True, exit_on_error=False))

    def open_cluster_picker(self) -> None:
        """h-ctx: every cluster at a glance (screens/cluster_picker.py); enter switches as `:ctx NAME` does."""
        from console.cluster_glance import ClusterGlance
        from screens.cluster_picker import ClusterPicker, live_row

        if self.glance is None:
            self.glance = ClusterGlance(self.config, self.hub_factory, clock=self.clock)
        self.glance.watch(self.cluster_name)

        def picked(name: str | None) -> None:
            if name and name != self.cluster_name:
                self.request_switch(name)

        self.push_screen(ClusterPicker(self.glance, lambda: live_row(self)), picked)

    async def jump_to(self, layer: str, subject: str) -> None:
        """Show the screen for a finding's layer, filtered to its subject."""
        view = view_of(layer)
        if view != self.current_mode:
            await self.switch_mode(view)
        screen = self.screen
        if isinstance(screen, LayerScreen):
            screen.show_subject(subject)

    # ------------------------------------------------------------ maintenance runs
    # (console/maintenance/session.py, screens/maintenance*.py)
    def _offer_resume(self) -> None:
        """The resume banner: the journal holds an unfinished maintenance run of this cluster.
        Offered once the cluster has answered, so a run recorded on another cluster of the same
        config name (another lab) is never offered here."""
        from console.maintenance.identity import ClusterIdentity
        from console.maintenance.resume import unfinished_banner

        snaps = self.hub.snapshots
        pve = getattr(snaps.get("proxmox"), "data", None)
        if pve is None and snaps.get("proxmox") is not None and snaps["proxmox"].configured:
            self._resume_pending = True  # asked again by on_snapshot_arrived
            return
        self._resume_pending = False
        identity = None
        if pve is not None:
            ceph = getattr(snaps.get("ceph"), "data", None)
            identity = ClusterIdentity(pve.cluster_name, tuple(sorted(n.name for n in pve.nodes)),
                                       getattr(ceph, "fsid", None))
        try:
            text = unfinished_banner(self.cluster_name, self.read_only, identity)
        except (ConsoleError, OSError) as exc:
            self.notify(f"cannot read the maintenance journal: {exc}", title="maintenance", severity="warning")
            return
        if text:
            self.notify(text, title="maintenance", severity="warning", timeout=30)

    async def action_quit(self) -> None:
        self._leave("quit", self.exit)

    def _leave(self, what: str, then: Callable[[], Any]) -> None:
        """Quit or switch cluster; while a maintenance run is active, only once confirmed."""
        busy = self.maintenance.busy_text() if self.maintenance is not None else None
        if busy is None:
            then()
            return
        self.run_worker(self._confirm_leave(what, busy, then), group="leave", exclusive=True, exit_on_error=False)

    async def _confirm_leave(self, what: str, busy: str, then: Callable[[], Any]) -> None:
        from screens.modals import ConfirmModal

        question = f"{busy}\n{what.capitalize()} anyway? The run stops where it is; resume or roll it back later."
        if not await self.push_screen_wait(ConfirmModal(question)):
            return
        for worker in self.workers.cancel_group(self, "maintenance"):
            try:
                await worker.wait()
            except Exception:  # noqa: BLE001 - cancelled is what we asked for
                pass
        self.maintenance.abort()  # a run stopped waiting for the operator: journal it, release the lock
        then()

    # ------------------------------------------------------------ mutating actions
    def request_action(self, description: str, method: str, *args: Any) -> None:
        """Confirm, then call Actions.<method>(*args). Refused when read-only."""
        if self.read_only:
            self.notify(f"refused: {description} (read-only)", title="read-only", severity="warning")
            return
        self.run_worker(self._confirm_and_run(description, method, args), group="action", exit_on_error=False)

    async def _confirm_and_run(self, description: str, method: str, args: tuple) -> None:
        from screens.modals import ConfirmModal

        if not await self.push_screen_wait(ConfirmModal(f"{description}?")):
            return
        call = getattr(self.actions, method, None)
        if call is None:
            self.notify(f"{description}: not available for this cluster", severity="warning")
            return
        try:
            await call(*args)
        except ConsoleError as exc:
            self.notify(exc.message, title=f"{description} failed", severity="error")
            return
        self.notify(f"{description}: requested", title="action")
        self.hub.refresh()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.collector.hold(self._busy())  # an App worker (an action, a run): from its first moment
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.notify(f"{type(error).__name__}: {error}", title="internal error", severity="error")


def run_tui(config: Config, cluster: str | None, read_only: bool, demo: Any = None) -> int:
    """Run the console on `cluster` of `config` until the operator quits."""
    from console.sources import build_hub

    def factory(cluster_cfg: ClusterConfig):
        return build_hub(cluster_cfg, read_only=read_only or cluster_cfg.read_only)

    # Build the first cluster's sources before the UI starts, so a ConsoleError (unreadable token
    # file, unknown cluster) reaches the caller as a clear message instead of a crashed screen.
    first_cluster = config.cluster(cluster)
    first = factory(first_cluster)
    handed_out = [first]

    def factory_once(cluster_cfg: ClusterConfig):
        if handed_out and cluster_cfg is first_cluster:
            return handed_out.pop()
        return factory(cluster_cfg)

    app = ConsoleApp(config, cluster, factory_once, read_only=read_only)
    tune_malloc()  # before the pollers' threads start
    result = app.run()
    return result if isinstance(result, int) else 0
