"""One line per source saying it is stale, failing, loading or not configured."""

from __future__ import annotations

from textual.widgets import Static

from widgets.format import age


class StaleBanner(Static):
    DEFAULT_CSS = """
    StaleBanner { height: auto; display: none; padding: 0 1; }
    StaleBanner.-stale { display: block; max-height: 3; background: $error 30%; color: $text; text-style: bold; }
    StaleBanner.-loading { display: block; color: $text-muted; }
    StaleBanner.-unconfigured { display: block; color: $text-muted; }
    """

    MAX_LINES = 2

    def __init__(self, source: str, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.source = source
        self._last: tuple | None = None

    def show(self, snap, now: float) -> None:
        """Render from a poller Snapshot (or None before the hub exists)."""
        if snap is None or snap.loading:
            state, text = "-loading", f"… {self.source}: loading"
        elif not snap.configured:
            state, text = "-unconfigured", f"○ {self.source}: not configured"
        elif snap.is_stale(now):
            reason = snap.error or "no new data"
            if reason.startswith(f"{self.source}: "):  # errors already name their source
                reason = reason[len(self.source) + 2:]
            head = f"⚠ {self.source}: "
            tail = " — no data yet" if snap.ok_at is None else f" — data {age(snap.age(now))} old"
            text = head + self._fit(" ".join(reason.split()), len(head) + len(tail)) + tail
            state = "-stale"
        else:
            state, text = "", ""
        key = (state, text)
        if key == self._last:
            return
        self._last = key
        self.set_class(state == "-stale", "-stale")
        self.set_class(state == "-loading", "-loading")
        self.set_class(state == "-unconfigured", "-unconfigured")
        self.update(text)

    def _fit(self, reason: str, framing: int) -> str:
        """At most MAX_LINES lines with the age: a long error (every manager's socket) must not push
        the table off an 80x24 screen. The full error is in the log file and the Health findings."""
        width = (self.size.width or self.app.size.width or 80) - 2  # padding
        room = max(40, width * self.MAX_LINES - framing - 1)
        return reason if len(reason) <= room else reason[:room - 1].rstrip() + "…"

    @property
    def text(self) -> str:
        return self._last[1] if self._last else ""
