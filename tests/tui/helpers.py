"""Small helpers for pilot tests. Public Textual API only (no private attributes)."""

from __future__ import annotations

import html
import re
import time

from rich.cells import cell_len

# rich.console.Console.export_svg draws each run of text as <text x=COLUMN*CHAR_WIDTH ...> on a
# clip path named after its line; CHAR_WIDTH is its default 20 px font height times 0.61
_SVG_TEXT = re.compile(r'<text [^>]*?x="([0-9.]+)"[^>]*?clip-path="url\(#[^)]*-line-(\d+)\)">(.*?)</text>', re.S)
_CHAR_WIDTH = 20 * 0.61


async def poll(app, pilot) -> None:
    """One round of every fake poller, then let the App render."""
    await app.hub.poll_all_once()
    await pilot.pause()


async def until(pilot, cond, timeout: float = 5.0) -> None:
    """Let the App run until `cond()` holds (work done in a worker thread shows a moment later)."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline
        await pilot.pause(0.02)


def screen_lines(app) -> list[str]:
    """The screen as the terminal shows it, one string per row (App.export_screenshot, read back)."""
    width, height = app.size
    runs: list[list[tuple[int, str]]] = [[] for _ in range(height)]
    for x, y, text in _SVG_TEXT.findall(app.export_screenshot()):
        row = int(y)
        if row < height:
            runs[row].append((round(float(x) / _CHAR_WIDTH), html.unescape(text).replace("\xa0", " ")))
    lines = []
    for row in runs:
        line, col = "", 0
        for start, text in sorted(row):
            line += " " * max(0, start - col) + text
            col = max(col, start) + cell_len(text)
        lines.append(line + " " * max(0, width - col))
    return lines


def screen_text(app) -> str:
    return "\n".join(screen_lines(app))


def notes(app) -> list[str]:
    """Every notification the App showed, as "title: message" (ConsoleApp.notices)."""
    return list(app.notices)
