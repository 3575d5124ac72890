"""A small status tile: a marked title line and a few headline lines."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from widgets.format import MARK, STYLE

LEVEL_CLASS = {"ok": "-ok", "warn": "-warn", "bad": "-bad", "unknown": "-unknown", "off": "-off"}


class Tile(Static):
    DEFAULT_CSS = """
    Tile { width: 1fr; height: 4; min-width: 12; padding: 0 1 0 0; overflow: hidden; text-wrap: nowrap;
        text-overflow: ellipsis; }
    Tile.-bad { background: $error 25%; }
    Tile.-warn { background: $warning 15%; }
    """

    def __init__(self, layer: str, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.layer_name = layer
        self._last: tuple | None = None

    def show(self, level: str, title: str, lines: list[str]) -> None:
        key = (level, title, tuple(lines))
        if key == self._last:
            return
        self._last = key
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{MARK[level]} ", style=STYLE[level])
        text.append(title, style="bold")
        for line in lines[:3]:
            text.append("\n" + line)
        for cls in LEVEL_CLASS.values():
            self.remove_class(cls)
        self.add_class(LEVEL_CLASS[level])
        self.update(text)

    @property
    def text(self) -> str:
        return "\n".join([self._last[1], *self._last[2]]) if self._last else ""
