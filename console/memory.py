"""Keep the console's resident memory flat over hours (glibc malloc tuning; no-ops elsewhere).

The sources run their blocking calls (proxmoxer, docker, requests: large JSON
answers) on a pool of threads. glibc gives each thread that allocates its own
malloc arena (up to 8 per core), and freed memory in an arena is rarely handed
back: resident memory creeps up poll after poll although Python's live objects
do not grow (tests/bench/bench_soak.py shows it). Two arenas are plenty for a
program that is mostly waiting on the network, and `malloc_trim` returns the
free pages at once.

glibc also raises its mmap threshold each time a large block that was mmapped is
freed (up to 32 MB): after the first poll's megabyte-sized answers, the next ones
are carved from the heap instead and leave it fragmented. A fixed threshold keeps
every block of MMAP_THRESHOLD or more in its own mapping, given back when freed
(on the `large` lab a poll loop's RSS went from ~97 to ~88 MB).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # from glibc's malloc.h
M_ARENA_MAX = -8
ARENAS = 2
MMAP_THRESHOLD = 256 * 1024  # bytes; a fixed value also stops glibc adjusting it (and the trim threshold)

TCACHE_OFF = "glibc.malloc.tcache_count=0"
RELAUNCH = "import sys; from console.cli import main; sys.exit(main())"
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


def tune_malloc(arenas: int = ARENAS, mmap_threshold: int = MMAP_THRESHOLD) -> bool:
    """Cap glibc's malloc arenas and fix its mmap threshold (call before threads start);
    True if both applied, False elsewhere than glibc."""
    lib = _glibc()
    if lib is None:
        return False
    ok = bool(lib.mallopt(M_ARENA_MAX, arenas)) and bool(lib.mallopt(M_MMAP_THRESHOLD, mmap_threshold))
    log.debug("malloc arenas capped at %d, mmap threshold %d bytes: %s", arenas, mmap_threshold, ok)
    return ok


def release_free_memory() -> None:
    """Hand free heap pages back to the system (cheap: a few ms on a 100 MB heap)."""
    lib = _glibc()
    if lib is not None:
        lib.malloc_trim(0)


def relaunch_without_thread_caches(args: list[str]) -> None:
    """Start the console again (exec, same pid) with glibc's per-thread caches off, once.

    Each thread that ran a poll keeps a cache of freed blocks (tcache) that neither other threads
    nor malloc_trim can take back; over hours of polling they are a good part of the resident
    memory that creeps up (about 7 MB in tests/bench/bench_soak.py). The tunable is read only when
    a process starts, hence the exec. Nothing happens off glibc, when GLIBC_TUNABLES already says
    something about the tcache, or with LABCONSOLE_KEEP_TCACHE=1; an exec that fails goes on here."""
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    if (_glibc() is None or "glibc.malloc.tcache" in tunables or os.environ.get("LABCONSOLE_KEEP_TCACHE") == "1"
            or not sys.executable):
        return
    env = dict(os.environ, GLIBC_TUNABLES=":".join(t for t in (tunables, TCACHE_OFF) if t))
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    script = sys.argv[0] if sys.argv and os.path.isfile(sys.argv[0]) else None  # `ps` shows labconsole again
    try:
        os.execve(sys.executable, [sys.executable, *([script] if script else ["-c", RELAUNCH]), *args], env)
    except OSError as exc:
        log.info("not relaunched with the thread caches off: %s", exc)
