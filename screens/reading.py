"""A view whose data is read on demand rather than polled by the Hub: PVE tasks, the
cluster log, the console's own command log. Read when the view is shown and every
READ_EVERY seconds while it stays the current screen (nothing is read while it is
hidden), in a worker: never on the event loop, one read at a time.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Static

from console.errors import ConsoleError
from screens.base import LayerScreen


def app_of(screen: Screen) -> Any:
    """The ConsoleApp a screen runs in (its hub, actions, clocks), loosely typed: console/app.py
    imports the screens, so they cannot import it back for its type."""
    return screen.app


class ReadingScreen(LayerScreen):
    READ_EVERY = 3.0  # seconds between reads while shown
    SOURCES = ()  # no Hub source: the header and banners still follow every snapshot

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0  # finished reads; tests wait on it
        self.read_error: str | None = None
        self._first = True
        self._reading = False

    def on_mount(self) -> None:  # LayerScreen.on_mount runs after this by itself
        self.set_interval(self.READ_EVERY, self.read_now)
        self.read_now()

    def on_screen_resume(self) -> None:  # LayerScreen's re-render runs too
        self.read_now()

    def loading_widgets(self) -> list:
        return []  # loading is shown until our own first read, not the Hub's

    def render_data(self, snapshots, now) -> None:
        pass  # the data is ours (read_now), not a snapshot's

    def read_now(self) -> None:
        """Start a read unless one is running or the view is hidden."""
        if not self.is_current and not self._first:
            return
        if self._reading:
            return
        self._reading = True
        self.run_worker(self._read_and_show(), group="read", exit_on_error=False)

    async def _read_and_show(self) -> None:
        if self._first:
            self.set_loading(True)
        try:
            data = await self.read()
        except ConsoleError as exc:
            self.read_error = exc.message + (f" ({exc.hint})" if exc.hint else "")
            self.show_error(self.read_error)
        else:
            self.read_error = None
            self.show(data)
        finally:
            if self._first:
                self._first = False
                self.set_loading(False)
            self.reads += 1
            self._reading = False

    def set_loading(self, on: bool) -> None:
        for widget in self.reading_widgets():
            widget.loading = on

    def reading_widgets(self) -> list:
        return []

    def show_error(self, text: str) -> None:
        status = self.query("#read-status")
        if status:
            status.first(Static).update(f"✖ {text}")

    def sources(self) -> Any:
        """The cluster's live sources (console.sources.Sources), or ConsoleError when there are none."""
        sources = getattr(app_of(self).actions, "sources", None)
        if sources is None:
            raise ConsoleError(self.TITLE_TEXT, "not available for this cluster (no Proxmox source)")
        return sources

    async def read(self) -> Any:
        raise NotImplementedError

    def show(self, data: Any) -> None:
        raise NotImplementedError
