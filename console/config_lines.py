"""Line numbers of keys in TOML text, so config problems can say where.

tomllib does not report positions of valid keys, so this scans the text:
table headers, `key = value` lines and the elements of (multi-line) arrays.
Paths look like `clusters.home.proxmox.endpoints[1]` and
`clusters.home.vrrp.firewalls[0].name`. Best effort: unknown paths fall back
to their closest known parent (see `line_of`).
"""

from __future__ import annotations

import re

_INDEX = re.compile(r"\[\d+\]$")


def split_key(text: str) -> list[str]:
    """`a."b.c".d` -> ["a", "b.c", "d"]."""
    parts: list[str] = []
    buf = ""
    quote = None
    for ch in text.strip():
        if quote:
            if ch == quote:
                quote = None
            else:
                buf += ch
        elif ch in "\"'":
            quote = ch
        elif ch == ".":
            parts.append(buf.strip())
            buf = ""
        else:
            buf += ch
    parts.append(buf.strip())
    return parts


def _find_outside_quotes(text: str, char: str) -> int:
    quote = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == char:
            return i
    return -1


def key_lines(text: str) -> dict[str, int]:
    """Map every key path found in `text` to its 1-based line number."""
    lines: dict[str, int] = {}
    array_index: dict[str, int] = {}  # path of an array of tables -> current index
    table = ""
    rows = text.splitlines()
    r = 0
    while r < len(rows):
        stripped = rows[r].strip()
        if not stripped or stripped.startswith("#"):
            r += 1
            continue
        if stripped.startswith("["):
            is_array = stripped.startswith("[[")
            inner = stripped[2:] if is_array else stripped[1:]
            end = _find_outside_quotes(inner, "]")
            table = _header_path(split_key(inner[: max(end, 0)]), array_index, is_array)
            lines.setdefault(table, r + 1)
            r += 1
            continue
        eq = _find_outside_quotes(stripped, "=")
        if eq <= 0:
            r += 1
            continue
        path = ".".join([table, *split_key(stripped[:eq])] if table else split_key(stripped[:eq]))
        lines.setdefault(path, r + 1)
        col = rows[r].index(stripped) + eq + 1
        r = _scan_value(rows, r, col, path, lines)
    return lines


def _header_path(parts: list[str], array_index: dict[str, int], is_array: bool) -> str:
    path = ""
    for i, part in enumerate(parts):
        plain = f"{path}.{part}" if path else part
        last = i == len(parts) - 1
        if last and is_array:
            array_index[plain] = array_index.get(plain, -1) + 1
        path = f"{plain}[{array_index[plain]}]" if plain in array_index else plain
    return path


def _scan_value(rows: list[str], r: int, c: int, path: str, lines: dict[str, int]) -> int:
    """Skip a value that may span lines; record array element lines. Returns the next row."""
    stack: list[list] = []  # [kind, element index, expecting an element]
    string: str | None = None
    while r < len(rows):
        row = rows[r]
        while c < len(row):
            ch = row[c]
            if string:
                if len(string) == 3 and row.startswith(string, c):
                    string, c = None, c + 3
                    continue
                if ch == "\\" and string in ('"', '"""'):
                    c += 2
                    continue
                if len(string) == 1 and ch == string:
                    string = None
                c += 1
                continue
            if ch == "#":
                break
            top = stack[-1] if stack else None
            if top and top[0] == "[" and top[2] and not ch.isspace() and ch not in ",]":
                element = path + "".join(f"[{e[1]}]" for e in stack if e[0] == "[")
                lines.setdefault(element, r + 1)
                top[2] = False
            if row.startswith('"""', c) or row.startswith("'''", c):
                string, c = row[c:c + 3], c + 3
                continue
            if ch in "\"'":
                string = ch
            elif ch == "[":
                stack.append(["[", 0, True])
            elif ch == "{":
                stack.append(["{", 0, False])
            elif ch in "]}":
                if stack:
                    stack.pop()
            elif ch == "," and top and top[0] == "[":
                top[1] += 1
                top[2] = True
            c += 1
        r, c = r + 1, 0
        if not stack and not string:
            return r
    return r


def line_of(lines: dict[str, int], path: str) -> int | None:
    """The line of `path`, or of its nearest parent that has one."""
    while path:
        if path in lines:
            return lines[path]
        if _INDEX.search(path):
            path = _INDEX.sub("", path)
        elif "." in path:
            path = path.rsplit(".", 1)[0]
        else:
            return None
    return None
