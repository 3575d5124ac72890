"""Service log lines with follow (tail) and a filter, fed by the screen: either a
whole fetch (`show_lines`) or a stream, line by line (`append_lines`).

Log lines come from containers: their SGR colours are shown (parsed into rich
styles), every other escape sequence and control character is made inert by
console.inert.inert_sgr before anything is drawn.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widgets import Log

from console.inert import inert_sgr, strip_sgr

from widgets.format import shorten_log_time
from widgets.row_filter import parse_filter

MAX_LINES = 5000


class LogView(Log):
    DEFAULT_CSS = """
    LogView { height: 1fr; border-top: solid $primary; border-title-align: left; display: none; }
    LogView.-open { display: block; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(highlight=False, max_lines=MAX_LINES, **kwargs)
        self.all_lines: list[str] = []
        self._raw_lines: list[str] = []
        self.filter_text = ""
        self.follow = True
        self.source_name = ""
        self.streaming = False  # lines arrive as the engine sends them (title says "live")
        self._placeholder = False  # the "(no log lines)" / "connecting" line is on screen

    def show_lines(self, name: str, lines: list[str]) -> None:
        """Replace the content (a fresh fetch); keeps the filter and follow mode."""
        if name == self.source_name and lines == self._raw_lines:
            return  # a follow tick with nothing new
        self.source_name = name
        self._raw_lines = list(lines)
        self.all_lines = [inert_sgr(line) for line in lines]  # idempotent: sources may have done it already
        self._redraw()

    def start_stream(self, name: str, note: str = "connecting to the log stream…") -> None:
        self.source_name = name
        self.streaming = True
        self.all_lines, self._raw_lines = [], []
        self.auto_scroll = self.follow
        self.clear()
        self.write_line(note)
        self._placeholder = True
        self._update_title()

    def stop_stream(self) -> None:
        self.streaming = False
        self._update_title()

    def append_lines(self, lines: list[str]) -> None:
        """New lines from the stream: kept (bounded), shown when they pass the filter."""
        if not lines:
            return
        lines = [inert_sgr(line) for line in lines]
        self.all_lines.extend(lines)
        if len(self.all_lines) > MAX_LINES:
            del self.all_lines[: len(self.all_lines) - MAX_LINES]
        f = parse_filter(self.filter_text)
        shown = [shorten_log_time(line) for line in lines if f is None or f(strip_sgr(line).lower())]
        if not shown:
            return
        if self._placeholder:
            self.clear()
            self._placeholder = False
        self.auto_scroll = self.follow
        self.write_lines(shown)

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self._redraw()

    def toggle_follow(self) -> bool:
        self.follow = not self.follow
        self.auto_scroll = self.follow
        self._update_title()
        if self.follow:
            self.scroll_end(animate=False)
        return self.follow

    def _redraw(self) -> None:
        f = parse_filter(self.filter_text)
        # the filter sees the whole line; the screen shows a short timestamp (a full RFC 3339 one
        # would take 31 of 80 columns)
        lines = [shorten_log_time(line) for line in self.all_lines if f is None or f(strip_sgr(line).lower())]
        self.auto_scroll = self.follow
        self.clear()
        self._placeholder = not lines
        self.write_lines(lines or ["(no log lines" + (f" match /{self.filter_text})" if f else ")")])
        self._update_title()

    def _update_title(self) -> None:
        parts = [f"logs {self.source_name}", ("live, " if self.streaming else "") + ("follow" if self.follow
                                                                                      else "paused")]
        if self.filter_text:
            parts.append(f"/{self.filter_text}")
        self.border_title = Text(" · ".join(parts))  # the service name is data, not markup

    @classmethod
    def _process_line(cls, line: str) -> str:
        """What a line occupies on screen (Log sizes its scroll area with this): the text without colours."""
        return strip_sgr(inert_sgr(line))

    def _render_line_strip(self, y: int, rich_style: Style) -> Strip:
        """One line: its SGR colours as styles over the widget's style; nothing else reaches the terminal."""
        line = Text.from_ansi(inert_sgr(self._lines[y]), no_wrap=True, end="")
        line.style = rich_style
        selection = self.text_selection
        if selection is not None and (span := selection.get_span(y - self._clear_y)) is not None:
            start, end = span
            line.stylize(self.screen.get_component_rich_style("screen--selection"), start,
                         len(line) if end == -1 else end)
        return Strip(line.render(self.app.console), cell_len(line.plain))
