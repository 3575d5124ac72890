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
