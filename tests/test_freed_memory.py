"""Freed heap memory goes back to the operating system (glibc's malloc_trim)."""

import ctypes

import pytest

from ttur_tf import freed_memory


def _resident_mib() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


@pytest.mark.skipif(freed_memory._malloc_trim() is None, reason="C library has no malloc_trim")
def test_memory_freed_below_the_heap_top_is_returned():
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    block_bytes, blocks = 32 * 1024, 8_000  # 250 MiB in blocks malloc serves from its heap
    pointers = [libc.malloc(block_bytes) for _ in range(blocks)]
    for pointer in pointers:
        ctypes.memset(pointer, 1, block_bytes)  # make the pages resident
    kept_on_top = libc.malloc(block_bytes)  # keeps free() from shrinking the heap by itself
    for pointer in pointers:
        libc.free(pointer)
    held = _resident_mib()

    assert freed_memory.return_freed_memory()

    assert _resident_mib() < held - 150
    libc.free(kept_on_top)
