"""Give memory back to the operating system after boards are unloaded.

Freed documents go back to glibc's heap, which keeps it: RSS stays at its peak after 100 boards
come and go (bench/results/memory-*.txt). After an unload sweep we collect Python cycles and ask
glibc to return free pages (`malloc_trim(0)`). Other C libraries: a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
from collections.abc import Callable

log = logging.getLogger("cobord.memory")


def _find_malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_MALLOC_TRIM = _find_malloc_trim()


def release_memory() -> bool:
    """Collect garbage and return free heap pages to the OS; True if glibc trimmed anything."""
    gc.collect()
    if _MALLOC_TRIM is None:
        return False
    return bool(_MALLOC_TRIM(0))
