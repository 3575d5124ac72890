"""Keep the console's resident memory flat over hours (glibc malloc tuning; no-ops elsewhere).

The sources run their blocking calls (proxmoxer, docker, requests: large JSON
answers) on a pool of threads. glibc gives each thread that allocates its own
malloc arena (up to 8 per core), and freed memory in an arena is rarely handed
back: resident memory creeps up poll after poll although Python's live objects
do not grow (tests/bench/bench_soak.py shows it). Two arenas are plenty for a
program that is mostly waiting on the network, and `malloc_trim` returns the
free pages at once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # from glibc's malloc.h
ARENAS = 2

_libc = None


def _glibc():
    global _libc
    if _libc is None:
        _libc = False
        if sys.platform.startswith("linux"):
            try:
                lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                if hasattr(lib, "mallopt") and hasattr(lib, "malloc_trim"):
                    _libc = lib
            except OSError:
                pass
    return _libc or None


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas (call before threads start); True if applied."""
    lib = _glibc()
    if lib is None:
        return False
    ok = bool(lib.mallopt(M_ARENA_MAX, arenas))
    log.debug("malloc arenas capped at %d: %s", arenas, ok)
    return ok


def release_free_memory() -> None:
    """Hand free heap pages back to the system (cheap: a few ms on a 100 MB heap)."""
    lib = _glibc()
    if lib is not None:
        lib.malloc_trim(0)
