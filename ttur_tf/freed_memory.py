"""Returning freed heap memory to the operating system.

glibc's allocator keeps memory that a program frees in its arenas (TensorFlow's threads each get
one) instead of giving it back, so a process's resident size stays at its high-water mark after a
large temporary allocation. Building the Inception graph's function is one: grappler copies the
graph's ~96 MB of weights several times while it optimises it, and those freed copies stayed
resident (about 450 MiB with the full-size network) for the whole run. ``malloc_trim(0)`` hands
them back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["return_freed_memory"]


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None on a C library without it (macOS, musl)."""
    library = ctypes.util.find_library("c")
    if library is None:
        return None
    return getattr(ctypes.CDLL(library), "malloc_trim", None)


def return_freed_memory() -> bool:
    """Releases the heap memory that has been freed but is still held by the allocator.

    Returns:
        True if memory was returned to the operating system; False if none could be, or the C
        library has no ``malloc_trim`` (then nothing is done).
    """
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
