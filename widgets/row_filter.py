"""The `/` filter language shared by every table: substring, regex, `!` inverts.

- ``web``       case-insensitive substring
- ``re:^vm-1``  explicit regex (case-insensitive)
- ``vm-(1|2)``  text with regex characters is used as a regex when it compiles,
                otherwise as a plain substring
- ``!stopped``  any of the above, inverted
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_REGEX_CHARS = frozenset("\\^$.|?*+()[]{}")


@dataclass(frozen=True, slots=True)
class RowFilter:
    text: str
    match: Callable[[str], bool]
    is_regex: bool
    inverted: bool

    def __call__(self, haystack: str) -> bool:
        """`haystack` must already be lower-cased (tables cache it that way)."""
        return self.match(haystack) != self.inverted


def parse_filter(text: str) -> RowFilter | None:
    """None for an empty filter; never raises (a bad regex falls back to substring)."""
    raw = text.strip(" \n")
    inverted = raw.startswith("!")
    if inverted:
        raw = raw[1:]
    if not raw:
        return None
    explicit = raw.startswith("re:")
    pattern = raw[3:] if explicit else raw
    if explicit or _REGEX_CHARS.intersection(pattern):
        try:
            rx = re.compile(pattern, re.IGNORECASE)
        except re.error:
            rx = None
        if rx is not None:
            return RowFilter(text, lambda s, _s=rx.search: _s(s) is not None, True, inverted)
    needle = pattern.lower()
    return RowFilter(text, lambda s, _n=needle: _n in s, False, inverted)
