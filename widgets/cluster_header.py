"""The top line: which cluster (in its colour), where you are, and each source's dot (its verdict) and data age."""

from __future__ import annotations

from rich.errors import StyleSyntaxError
from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from widgets.format import MARK, STYLE, BAD, OK, OFF, UNKNOWN, WARN

SHORT = {"proxmox": "pve", "ceph": "ceph", "swarm": "swarm", "traefik": "trfk", "vrrp": "vrrp"}


def source_level(snap, now: float) -> tuple[str, str]:
    """(level, word) for a source's dot: ok, stale, error, loading, not configured."""
    if snap is None or snap.loading:
        return UNKNOWN, "loading"
    if not snap.configured:
        return OFF, "off"
    if snap.error is not None:
        return BAD, "error"
    if snap.is_stale(now):
        return WARN, "stale"
    return OK, "ok"


VERDICT_LEVEL = {"ok": OK, "warn": WARN, "stale": WARN, "crit": BAD, "unknown": UNKNOWN, "off": OFF}
VERDICT_WORD = {"ok": "ok", "warn": "warn", "stale": "stale", "crit": "crit", "unknown": "no data", "off": "off"}


def verdict_level(verdict, snap) -> tuple[str, str]:
    """(level, word) for a source's dot from its verdict (console.verdict): the same level as
    the tiles and `check`."""
    if snap is None or snap.loading:
        return UNKNOWN, "loading"
    return VERDICT_LEVEL.get(verdict.level, UNKNOWN), VERDICT_WORD.get(verdict.level, verdict.level)


class ClusterHeader(Static):
    DEFAULT_CSS = """
    ClusterHeader { height: 1; background: $panel; color: $text; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self._last: str | None = None

    def show(self, cluster: str, color: str, read_only: bool, view: str, snapshots: dict, now: float,
             verdicts: dict | None = None) -> None:
        """`verdicts`: source -> console.verdict.Verdict; without them the dots say only whether
        each source answers."""
        text = Text(no_wrap=True, overflow="ellipsis")
        try:
            badge = Style.parse(f"bold reverse {color}")
        except StyleSyntaxError:  # config validation should catch it; never crash the header
            badge = Style.parse("bold reverse")
        text.append(f" {cluster} ", style=badge)
        if read_only:
            text.append(" RO ", style="bold reverse yellow")
        text.append(f" ▸ {view} ", style="bold")
        wide = (self.size.width or 80) >= 110
        for source in ("proxmox", "ceph", "swarm", "traefik", "vrrp"):
            snap = snapshots.get(source)
            verdict = verdicts.get(source) if verdicts else None
            level, word = verdict_level(verdict, snap) if verdict is not None else source_level(snap, now)
            label = source if wide else SHORT[source]
            text.append(" ")
            text.append(MARK[level], style=STYLE[level])
            text.append(label)
            if level in (OK, WARN, BAD) and snap is not None and snap.ok_at is not None:
                text.append(f" {snap.age(now):.0f}s", style="dim")
            elif level != OK:
                text.append(f" {word}", style=STYLE[level])
        plain = text.plain + "".join(str(s.style) for s in text.spans)
        if plain != self._last:
            self._last = plain
            self.update(text)
