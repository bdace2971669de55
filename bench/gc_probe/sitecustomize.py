"""The garbage collector's passes in a process, one line each (bench only, never installed).

Put this folder on PYTHONPATH of the process to watch (bench/run.sh passes its environment to
`cobord serve`), e.g.:

    PYTHONPATH=$PWD/bench/gc_probe GC_PROBE_DIR=/tmp/gc SIZES=400 REPEAT= PG_SIZES= MEMORY=0 \\
        COLDLOAD=0 ANCHORS=0 bench/run.sh

Each Python process started that way appends to $GC_PROBE_DIR/log.<pid> (its command line first)
a line per pass of generation 1 or 2, or of any generation that took over 1 ms: the time, the
generation, how long it took, the passes and milliseconds so far per generation, and for full
passes how many objects were tracked; the first two full passes over 80,000 objects also write
the 40 most common types to types.<pid>.<n>.
"""

from __future__ import annotations

import collections
import gc
import os
import sys
import time
from typing import Any

_DIR = os.environ.get("GC_PROBE_DIR", "/tmp")
_started: dict[int, float] = {}
_passes = [0, 0, 0]
_spent = [0.0, 0.0, 0.0]
_log: Any = None
_types_written = 0


def _on_pass(phase: str, info: dict[str, int]) -> None:
    global _log, _types_written
    generation = info["generation"]
    if phase == "start":
        _started[generation] = time.perf_counter()
        return
    ms = (time.perf_counter() - _started.get(generation, time.perf_counter())) * 1000
    _passes[generation] += 1
    _spent[generation] += ms
    if generation == 0 and ms <= 1:
        return
    if _log is None:
        _log = open(os.path.join(_DIR, f"log.{os.getpid()}"), "a", buffering=1)  # noqa: SIM115
        _log.write(" ".join(sys.argv) + "\n")
    tracked = gc.get_objects() if generation == 2 else None
    _log.write(
        f"{time.time():.3f} gen{generation} {ms:.2f}ms passes={_passes} "
        f"ms={[round(x, 1) for x in _spent]} objects={len(tracked) if tracked else ''}\n"
    )
    if tracked and len(tracked) > 80_000 and _types_written < 2:
        _types_written += 1
        kinds = collections.Counter(
            f"{type(o).__module__}.{type(o).__qualname__}" for o in tracked
        )
        path = os.path.join(_DIR, f"types.{os.getpid()}.{_types_written}")
        with open(path, "w") as out:
            out.writelines(f"{count} {kind}\n" for kind, count in kinds.most_common(40))


gc.callbacks.append(_on_pass)
