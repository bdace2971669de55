"""Process metrics in the Prometheus text format (`GET /metrics`), without a dependency.

Counters are plain integers bumped on the hot path; commit latency keeps the last
`LATENCY_WINDOW` samples (a bounded ring) and reports quantiles as a Prometheus summary.
"""

from __future__ import annotations

import gc
from collections import deque
from dataclasses import dataclass, field

LATENCY_WINDOW = 10_000


@dataclass
class Metrics:
    updates_accepted: int = 0
    updates_refused: int = 0
    commits: int = 0
    connections_opened: int = 0
    memory_releases: int = 0  # times freed memory was handed back to the OS after unloads
    # Fan-out to every connection of a room: writes asked of the outboxes, and the frames they
    # carried (a write carries several when relayed frames waited for a commit: server/live/room.py)
    fanout_writes: int = 0
    fanout_frames: int = 0
    connections_closed: dict[int, int] = field(default_factory=dict)  # close code -> count
    commit_seconds: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))
    commit_sizes: deque[int] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))

    def closed(self, code: int) -> None:
        self.connections_closed[code] = self.connections_closed.get(code, 0) + 1

    def render(self, rooms: int, connections: int) -> str:
        lines = [
            "# TYPE cobord_rooms_loaded gauge",
            f"cobord_rooms_loaded {rooms}",
            "# TYPE cobord_connections gauge",
            f"cobord_connections {connections}",
            "# TYPE cobord_connections_opened_total counter",
            f"cobord_connections_opened_total {self.connections_opened}",
            "# TYPE cobord_connections_closed_total counter",
            *(
                f'cobord_connections_closed_total{{code="{code}"}} {count}'
                for code, count in sorted(self.connections_closed.items())
            ),
            "# TYPE cobord_updates_accepted_total counter",
            f"cobord_updates_accepted_total {self.updates_accepted}",
            "# TYPE cobord_updates_refused_total counter",
            f"cobord_updates_refused_total {self.updates_refused}",
            "# TYPE cobord_commits_total counter",
            f"cobord_commits_total {self.commits}",
            "# TYPE cobord_fanout_writes_total counter",
            f"cobord_fanout_writes_total {self.fanout_writes}",
            "# TYPE cobord_fanout_frames_total counter",
            f"cobord_fanout_frames_total {self.fanout_frames}",
            "# TYPE cobord_memory_releases_total counter",
            f"cobord_memory_releases_total {self.memory_releases}",
            "# TYPE cobord_commit_seconds summary",
        ]
        samples = sorted(self.commit_seconds)
        for q in (0.5, 0.9, 0.99, 1.0):
            value = samples[min(len(samples) - 1, int(q * len(samples)))] if samples else 0.0
            lines.append(f'cobord_commit_seconds{{quantile="{q}"}} {value:.6f}')
        lines.append(f"cobord_commit_seconds_count {len(samples)}")
        sizes = self.commit_sizes
        mean = sum(sizes) / len(sizes) if sizes else 0.0
        lines += ["# TYPE cobord_commit_batch_mean gauge", f"cobord_commit_batch_mean {mean:.2f}"]
        return "\n".join([*lines, *_collector_lines()]) + "\n"


def _collector_lines() -> list[str]:
    """The garbage collector's passes per generation (a full pass stops the whole process), and
    the objects left out of them (frozen at start-up: server/cli.py)."""
    return [
        "# TYPE cobord_gc_collections_total counter",
        *(
            f'cobord_gc_collections_total{{generation="{generation}"}} {stats["collections"]}'
            for generation, stats in enumerate(gc.get_stats())
        ),
        "# TYPE cobord_gc_frozen_objects gauge",
        f"cobord_gc_frozen_objects {gc.get_freeze_count()}",
    ]
