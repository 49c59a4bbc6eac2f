"""The C heap of a long live run: what it holds, and handing its freed pages back to the system.

Decoded frames (0.7-2.7 MB each at 720p) are allocated and freed by FFmpeg, numpy and OpenCV from the C
heap, many times a second on several threads. glibc keeps freed blocks in each thread's arena for reuse
rather than returning them, so a run's resident memory climbs for hours while the memory actually in use
stays flat (bench/soak.py measured 61 -> 89 MiB kept in 4 minutes, in use flat; BENCHMARKS.md, "Where the
memory went"). ``trim`` asks glibc to give the free pages of every arena back (``malloc_trim(0)``);
``LiveApp`` calls it every ``live.heap_trim_s`` seconds, and a cluster node's camera actor as often at
the service's polls. Elsewhere than glibc both functions do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HeapUse:
    """The C heap of this process, in bytes (glibc's ``mallinfo2``)."""

    in_use: int
    """Allocated and not yet freed: blocks of the arenas plus blocks mapped on their own."""
    kept: int
    """Freed but kept by the allocator for reuse. Resident until trimmed or reused; pages ``trim`` handed
    back still count here (they cost no memory until reused), so after trimming compare resident memory."""


_MALLINFO2 = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in _MALLINFO2]


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """glibc, once asked for (never at import); None where the C library is another."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.malloc_trim.restype = ctypes.c_int
    except (OSError, AttributeError):  # musl, macOS: no malloc_trim
        return None
    if hasattr(libc, "mallinfo2"):  # glibc 2.33 and later
        libc.mallinfo2.argtypes = []
        libc.mallinfo2.restype = _MallInfo2
    return libc


def trim() -> bool:
    """Give the free pages of every arena back to the system; True if glibc released any."""
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False


def heap_use() -> HeapUse | None:
    """The heap's in-use and kept bytes now; None without glibc 2.33's ``mallinfo2``."""
    libc = _libc()
    if libc is None or not hasattr(libc, "mallinfo2"):
        return None
    info = libc.mallinfo2()
    return HeapUse(in_use=int(info.uordblks + info.hblkhd), kept=int(info.fordblks))
