"""The one boundary for text from outside: make it inert before anyone shows it.

Everything the cluster says (names, tags, rules, error strings, health
messages, log lines, command output) passes through one of these functions
where it enters the data layer, and every headless output passes through them
again on its way out:

- `inert(s)`     one line of text (a name, a cell, an error): no control
                 characters, no escape sequences, no bidi overrides, no
                 line breaks. Controls become visible control pictures
                 (ESC -> ␛, BEL -> ␇, NUL -> ␀), line breaks and tabs a space,
                 invisible format characters (bidi overrides/isolates,
                 zero-width joiners, BOM) are dropped.
- `inert_block(s)`  several lines (a hint, a task log, an apt transcript):
                 like `inert` per line; CR-overwritten progress keeps what a
                 terminal would finally show.
- `inert_sgr(s)` one log line whose colours may stay: SGR sequences
                 (ESC [ digits ; ... m) are kept, every other escape
                 sequence is removed, other controls become pictures. Feed the
                 result to rich's Text.from_ansi; `strip_sgr` drops the colours.
- `inert_tree(obj)` every string (keys and values) in a decoded JSON tree, in place.
- `cap(s, n)`    at most n characters, noting the full length.

Rich markup in data is never interpreted: screens put data into Text objects,
not markup strings. That is kept; these functions deal with the terminal.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

CAP = 200  # characters of a data string echoed in a progress line or a journal record

# ESC followed by: CSI (ESC [ ... final byte), OSC / DCS / SOS / PM / APC strings
# (terminated by BEL or ST, or running to the end), or a two-character sequence.
_ESC_SEQ = re.compile(
    r"\x1b(?:"
    r"\[[0-?]*[ -/]*[@-~]?"  # CSI
    r"|[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS, SOS, PM, APC
    r"|[ -/]*[0-~]?"  # nF / Fp / Fe / Fs two-character forms
    r")"
)
# The 8-bit forms of CSI (0x9b) and OSC/DCS/... (0x9d, 0x90, 0x98, 0x9e, 0x9f)
_C1_SEQ = re.compile(r"\x9b[0-?]*[ -/]*[@-~]?|[\x9d\x90\x98\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?")
_SGR = re.compile(r"\x1b\[[0-9;:]*m")

# Control pictures: U+2400 + code for C0, U+2421 for DEL.
_PICTURES = {i: chr(0x2400 + i) for i in range(0x20)}
_PICTURES[0x7F] = "\u2421"
for _c in range(0x80, 0xA0):  # C1 controls have no pictures: show the replacement character
    _PICTURES[_c] = "\ufffd"


def _one_char(ch: str, keep_newline: bool) -> str:
    """The replacement for one character that is not printable."""
    o = ord(ch)
    if ch == "\n":
        return "\n" if keep_newline else " "
    if ch == "\t":
        return " " if not keep_newline else "    "
    if o in _PICTURES:
        return _PICTURES[o]
    cat = unicodedata.category(ch)
    if cat == "Zs":
        return " "
    if cat in ("Zl", "Zp"):  # U+2028 / U+2029 line and paragraph separators
        return "\n" if keep_newline else " "
    if cat == "Cf":  # bidi overrides/isolates, ZWJ/ZWNJ, BOM, soft hyphen ...: invisible, dropped
        return ""
    if cat == "Cs":  # a lone surrogate from a bad decode
        return "\ufffd"
    return ch  # private use / unassigned: harmless to a terminal


def _scrub(text: str, keep_newline: bool) -> str:
    return "".join(ch if ch.isprintable() else _one_char(ch, keep_newline) for ch in text)


def inert(value: Any) -> str:
    """One line of inert text from any value (None -> "")."""
    if value is None:
        return ""
    s = value if isinstance(value, str) else str(value)
    if s.isprintable():  # fast path: nothing to do (the vast majority of strings)
        return s
    if "\r\n" in s:
        s = s.replace("\r\n", " ")
    return _scrub(s, keep_newline=False)


def _last_overwrite(line: str) -> str:
    """What a terminal shows of a line with carriage returns: the last non-empty segment."""
    parts = [p for p in line.split("\r") if p]
    return parts[-1] if parts else ""


def inert_block(value: Any) -> str:
    """Several lines of inert text; CR-overwritten progress collapses to its last state."""
    if value is None:
        return ""
    s = value if isinstance(value, str) else str(value)
    if s.isprintable():
        return s
    s = s.replace("\r\n", "\n")
    if "\r" in s:
        s = "\n".join(_last_overwrite(line) for line in s.split("\n"))
    return _scrub(s, keep_newline=True)


def inert_sgr(value: Any) -> str:
    """One log line keeping only SGR colour sequences; everything else inert."""
    if value is None:
        return ""
    s = value if isinstance(value, str) else str(value)
    if s.isprintable():
        return s
    if "\r" in s:
        s = _last_overwrite(s.replace("\r\n", "\n").replace("\n", " "))
    kept: list[str] = []

    def keep(match: re.Match) -> str:
        kept.append(match.group(0))
        return f"\x00{len(kept) - 1}\x00"

    # set SGR aside behind NUL markers (a NUL from the data is turned into a picture first)
    s = s.replace("\x00", "\u2400")
    s = _SGR.sub(keep, s)
    s = _ESC_SEQ.sub("", s)
    s = _C1_SEQ.sub("", s)
    parts = s.split("\x00")
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 1 and part.isdigit() and int(part) < len(kept):
            out.append(kept[int(part)])
        else:
            out.append(_scrub(part, keep_newline=False))
    return "".join(out)


def strip_sgr(value: str) -> str:
    """An `inert_sgr` line without its colours (for a pipe)."""
    return _SGR.sub("", value)


def strip_escapes(value: Any) -> str:
    """One line with escape sequences removed entirely (not shown), then inert."""
    s = "" if value is None else str(value)
    if s.isprintable():
        return s
    return inert(_C1_SEQ.sub("", _ESC_SEQ.sub("", s)))


def inert_tree(obj: Any) -> Any:
    """Every string in a decoded JSON value made inert (dict keys too); other values as they are.

    In place: give it a value just decoded that nobody else holds. Lists and dicts are changed
    where a string needs it and returned as they are (a dict with a key to change is rebuilt), so
    a poll's answer is not held twice at once; a clean tree (nearly every one) is only walked."""
    if isinstance(obj, str):
        return obj if obj.isprintable() else inert(obj)
    if isinstance(obj, list):
        for i, x in enumerate(obj):
            if isinstance(x, str):
                if not x.isprintable():
                    obj[i] = inert(x)
            elif isinstance(x, (list, dict)):
                y = inert_tree(x)
                if y is not x:
                    obj[i] = y
        return obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, str):
                if not v.isprintable():
                    obj[k] = inert(v)  # replacing a value does not change the dict's size: safe here
            elif isinstance(v, (list, dict)):
                y = inert_tree(v)
                if y is not v:
                    obj[k] = y
        if any(isinstance(k, str) and not k.isprintable() for k in obj):  # hostile keys: rare
            return {(k if not isinstance(k, str) or k.isprintable() else inert(k)): v for k, v in obj.items()}
        return obj
    return obj


def cap(value: Any, limit: int = CAP) -> str:
    """At most `limit` characters of inert text; longer text ends with '… (N chars)'."""
    s = inert(value)
    if len(s) <= limit:
        return s
    return f"{s[:limit]}… ({len(s)} chars)"
