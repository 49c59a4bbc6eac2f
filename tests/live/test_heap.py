"""live.heap: freed heap handed back to the system, and the heap's figures."""

from __future__ import annotations

import ctypes
import sys

import psutil
import pytest

from openlfr.config import LiveConfig
from openlfr.live import heap

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim: Linux only")

MIB = 2**20


def test_trim_hands_freed_heap_back() -> None:
    """Blocks below glibc's mmap threshold, freed out of order, stay resident until trimmed."""
    if heap.heap_use() is None:
        pytest.skip("this C library has no mallinfo2 (glibc < 2.33 or not glibc)")
    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    block = 100_000  # under the default 128 KiB mmap threshold: from the heap, as frame rows and crops are
    blocks = [libc.malloc(block) for _ in range(1_500)]
    for b in blocks:
        libc.memset(b, 1, block)  # touched: resident
    for i, b in enumerate(blocks):
        if i % 10:  # every tenth kept in place, so the freed space is not all at the heap's top
            libc.free(b)
    me = psutil.Process()
    before = me.memory_info().rss
    kept = heap.heap_use()
    assert kept is not None and kept.kept > 100 * MIB
    assert heap.trim()
    after = me.memory_info().rss
    for i, b in enumerate(blocks):
        if not i % 10:
            libc.free(b)
    assert before - after > 80 * MIB, (before / MIB, after / MIB)


def test_heap_use_counts_what_is_allocated() -> None:
    use = heap.heap_use()
    if use is None:
        pytest.skip("this C library has no mallinfo2 (glibc < 2.33 or not glibc)")
    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(50_000) for _ in range(400)]
    grown = heap.heap_use()
    for b in blocks:
        libc.free(b)
    assert grown is not None and grown.in_use - use.in_use > 15 * MIB


def test_trim_interval_is_a_setting() -> None:
    assert LiveConfig().heap_trim_s > 0
    assert LiveConfig(heap_trim_s=0).heap_trim_s == 0
    with pytest.raises(ValueError, match="heap_trim_s"):
        LiveConfig(heap_trim_s=-1)
