"""Text helpers shared by screens: sizes, ages, bars and status marks.

Status is never shown by colour alone: every mark pairs a symbol with a word
or a number so it reads the same with 16 colours or none.
"""

from __future__ import annotations

import re

OK, WARN, BAD, UNKNOWN, OFF = "ok", "warn", "bad", "unknown", "off"
MARK = {OK: "●", WARN: "▲", BAD: "✖", UNKNOWN: "?", OFF: "○"}
STYLE = {OK: "green", WARN: "yellow", BAD: "bold red", UNKNOWN: "magenta", OFF: "dim"}


def mark(level: str, word: str = "") -> tuple[str, str]:
    """A (text, style) cell like ('✖ down', 'bold red')."""
    text = f"{MARK[level]} {word}" if word else MARK[level]
    return (text, STYLE[level])


def size(n: int | float | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "K", "M", "G", "T", "P"):
        if abs(value) < 1024 or unit == "P":
            return f"{value:.0f}{unit}" if unit == "B" or value >= 100 else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}P"


def pct(fraction: float | None) -> str:
    return "-" if fraction is None else f"{fraction * 100:.0f}%"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600}h"


def age(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.0f} s"


def bar(percent: float, width: int = 10) -> tuple[str, str]:
    """A usage bar cell with the number, coloured by threshold (85% warn, 95% bad)."""
    percent = max(0.0, min(100.0, percent))
    filled = round(percent / 100 * width)
    level = BAD if percent >= 95 else WARN if percent >= 85 else OK
    text = "█" * filled + "░" * (width - filled) + f" {percent:3.0f}%"
    return (text, STYLE[level] if level != OK else "")


def mem_cell(used: int, total: int) -> str:
    if not total:
        return size(used)
    return f"{size(used)}/{size(total)}"


_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)?\s?")


def short_time(iso: str | None) -> str:
    """'2026-11-23T09:06:22.957512345Z' -> '11-23 09:06:22' (as given, no zone conversion)."""
    if not iso:
        return "-"
    m = _ISO.match(iso)
    return f"{m.group(2)}-{m.group(3)} {m.group(4)}" if m else iso


def shorten_log_time(line: str) -> str:
    """A log line's leading RFC 3339 timestamp (docker logs -t) cut to 'MM-DD HH:MM:SS '."""
    m = _ISO.match(line)
    return f"{m.group(2)}-{m.group(3)} {m.group(4)} {line[m.end():]}" if m else line
