"""console/memory.py: glibc malloc tuning (a no-op elsewhere)."""

from __future__ import annotations

import ctypes

import pytest

from console import memory


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]


def _mmapped_bytes() -> int:
    lib = memory._glibc()
    if lib is None or not hasattr(lib, "mallinfo2"):
        pytest.skip("not glibc 2.33 or newer: no mallinfo2 to read the mmapped bytes from")
    lib.mallinfo2.restype = _MallInfo2
    return lib.mallinfo2().hblkhd


def test_large_blocks_stay_in_their_own_mappings_after_one_was_freed():
    """Without a fixed threshold glibc raises it when a mmapped block is freed, and the next
    answer-sized block comes from the heap (where it fragments): here each one is mmapped."""
    if not memory.tune_malloc():
        pytest.skip("not glibc: nothing to tune")
    for _ in range(3):
        before = _mmapped_bytes()
        block = bytearray(2 * memory.MMAP_THRESHOLD)
        assert _mmapped_bytes() - before >= 2 * memory.MMAP_THRESHOLD
        del block
    memory.release_free_memory()  # callable any time


def test_the_console_relaunches_once_with_the_thread_caches_off(monkeypatch):
    if memory._glibc() is None:
        pytest.skip("not glibc: nothing to relaunch for")
    calls: list[tuple[str, list[str], dict]] = []
    monkeypatch.setattr(memory.os, "execve", lambda exe, argv, env: calls.append((exe, argv, env)))
    monkeypatch.delenv("LABCONSOLE_KEEP_TCACHE", raising=False)
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.check=0")
    monkeypatch.setattr(memory.sys, "argv", ["-c"])  # not a script: the console is started by its import
    memory.relaunch_without_thread_caches(["--demo", "--cluster", "x y"])
    (exe, argv, env), = calls
    assert argv[1:3] == ["-c", memory.RELAUNCH] and argv[3:] == ["--demo", "--cluster", "x y"]
    assert env["GLIBC_TUNABLES"] == "glibc.malloc.check=0:glibc.malloc.tcache_count=0"
    # relaunched already (the tunable is there), asked not to, or an exec that fails: it goes on here
    monkeypatch.setattr(memory.sys, "argv", [memory.__file__])  # a script (the `labconsole` entry point)
    monkeypatch.setenv("GLIBC_TUNABLES", "")
    memory.relaunch_without_thread_caches(["--demo"])
    assert calls[-1][1][1:] == [memory.__file__, "--demo"]
    calls.pop()
    monkeypatch.setenv("GLIBC_TUNABLES", env["GLIBC_TUNABLES"])
    memory.relaunch_without_thread_caches([])
    monkeypatch.setenv("GLIBC_TUNABLES", "")
    monkeypatch.setenv("LABCONSOLE_KEEP_TCACHE", "1")
    memory.relaunch_without_thread_caches([])
    assert len(calls) == 1
    monkeypatch.delenv("LABCONSOLE_KEEP_TCACHE")

    def fails(*_a):
        raise OSError("exec format error")

    monkeypatch.setattr(memory.os, "execve", fails)
    memory.relaunch_without_thread_caches([])  # no exception


def test_only_the_console_itself_relaunches(monkeypatch):
    from console import cli

    seen: list[list[str]] = []
    monkeypatch.setattr(memory, "relaunch_without_thread_caches", lambda args: seen.append(args))
    monkeypatch.setattr(cli, "_dispatch", lambda args: 0)
    monkeypatch.setattr(cli.sys, "argv", ["labconsole", "--demo"])
    assert cli.main() == 0 and seen == [["--demo"]]
    monkeypatch.setattr(cli.sys, "argv", ["labconsole", "check", "--json"])
    assert cli.main() == 0 and len(seen) == 1  # a headless command ends soon: no relaunch
    assert cli.main(["--demo"]) == 0 and len(seen) == 1  # called from Python (tests): no relaunch
