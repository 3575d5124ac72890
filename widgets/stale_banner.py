"""One line per source saying it is stale, failing, loading or not configured."""

from __future__ import annotations

from textual.widgets import Static

from widgets.format import age


class StaleBanner(Static):
    DEFAULT_CSS = """
    StaleBanner { height: auto; display: none; padding: 0 1; }
    StaleBanner.-stale { display: block; background: $error 30%; color: $text; text-style: bold; }
    StaleBanner.-loading { display: block; color: $text-muted; }
    StaleBanner.-unconfigured { display: block; color: $text-muted; }
    """

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
            if snap.ok_at is None:
                text = f"⚠ {self.source}: {reason} — no data yet"
            else:
                text = f"⚠ {self.source}: {reason} — data {age(snap.age(now))} old"
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

    @property
    def text(self) -> str:
        return self._last[1] if self._last else ""
