"""A process's resident anonymous memory by where it lives, read from /proc/PID/smaps (Linux, glibc).

- heap: glibc's main arena (the brk heap: malloc calls of the main thread, and of others while
  the second arena is busy);
- arenas: glibc's other arenas (64 MiB reservations, aligned to 64 MiB);
- stacks: thread stacks (8 MiB mappings behind a guard page);
- other: the rest, mostly pymalloc's 1 MiB arenas and blocks big enough for a mapping of their own.
"""

from __future__ import annotations

import re
from pathlib import Path

GLIBC_ARENA = 64 * 1024 * 1024
STACK = 8 * 1024 * 1024
_MAPPING = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$")


def _mappings(pid: int | str) -> list[dict]:
    maps: list[dict] = []
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        m = _MAPPING.match(line)
        if m:
            maps.append({"start": int(m[1], 16), "end": int(m[2], 16), "perm": m[3], "name": m[4], "anon": 0})
        elif line.startswith("Anonymous:") and maps:
            maps[-1]["anon"] = int(line.split()[1])
    return maps


def _guard(m: dict | None) -> bool:
    return m is not None and m["perm"].startswith("---")


def anon_kinds(pid: int | str) -> dict[str, float]:
    """MB of anonymous resident memory per kind (see the module's docstring)."""
    maps = _mappings(pid)
    kinds = dict.fromkeys(("heap", "arenas", "stacks", "other"), 0)
    for i, m in enumerate(maps):
        if not m["anon"]:
            continue
        before = maps[i - 1] if i else None
        after = maps[i + 1] if i + 1 < len(maps) else None
        if m["name"] == "[heap]":
            kind = "heap"
        elif (m["start"] % GLIBC_ARENA == 0 and _guard(after) and after is not None
              and after["start"] == m["end"] and after["end"] - m["start"] == GLIBC_ARENA):
            kind = "arenas"
        elif m["end"] - m["start"] == STACK and _guard(before) and before is not None and before["end"] == m["start"]:
            kind = "stacks"
        else:
            kind = "other"
        kinds[kind] += m["anon"]
    return {k: v / 1024 for k, v in kinds.items()}


def describe(pid: int | str) -> str:
    k = anon_kinds(pid)
    threads = next((line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                    if line.startswith("Threads:")), "?")
    return (f"heap {k['heap']:5.1f} arenas {k['arenas']:5.1f} stacks {k['stacks']:4.1f} "
            f"other {k['other']:5.1f} threads {threads}")
