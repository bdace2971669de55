"""Experiment for bench/memory.py --trim: `cobord serve` plus a SIGUSR1 handler that runs
gc.collect() and glibc's malloc_trim(0), then writes an acknowledgement file.

    cd <server source> && python bench/trim_launch.py serve --port ... (same arguments as cobord)

It answers "how much memory would the server give back if it trimmed after unloading boards?"
without changing the server: freed yrs (Rust) documents stay in glibc's free lists, and
`free()` only returns the top of the heap, so RSS stays up until something calls malloc_trim.
Linux/glibc only. Environment: COBORD_TRIM_ACK = folder for the acknowledgement files.
"""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import sys
from pathlib import Path
from types import FrameType

sys.path.insert(0, os.getcwd())  # the server source to measure, as with `python -m server.cli`

_count = 0


def _trim(_signum: int, _frame: FrameType | None) -> None:
    global _count
    _count += 1
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    ack = Path(os.environ["COBORD_TRIM_ACK"]) / str(_count)
    ack.write_text("done\n")


signal.signal(signal.SIGUSR1, _trim)

from server.cli import main  # noqa: E402

main(sys.argv[1:])
