"""Scrape Cobord's `GET /metrics` (Prometheus text) into a small JSON object.

    .venv/bin/python bench/prom.py http://127.0.0.1:PORT [--out FILE] [--label NAME]

Used by bench/run.sh at the end of every Cobord case (group-commit latency and batch size) and by
bench/memory.py (rooms loaded, updates accepted). Standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import urllib.request
from typing import Any

_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)$")


def fetch(base_url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(f"{base_url.rstrip('/')}/metrics", timeout=timeout) as response:
        return str(response.read().decode())


def parse(text: str) -> dict[str, Any]:
    """{name: value} for plain samples, {name: {label-string: value}} for labelled ones."""
    out: dict[str, Any] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            continue
        name, labels, value = match.groups()
        number = float(value)
        if labels:
            out.setdefault(name, {})[labels] = number
        else:
            out[name] = number
    return out


def summary(text: str) -> dict[str, Any]:
    """The figures the benchmark report uses; latencies in milliseconds."""
    m = parse(text)
    quantiles = m.get("cobord_commit_seconds", {})

    def q(label: str) -> float | None:
        value = quantiles.get(f'quantile="{label}"')
        return None if value is None else round(value * 1000, 3)

    closed = {
        re.sub(r'^code="(\d+)"$', r"\1", k): int(v)
        for k, v in m.get("cobord_connections_closed_total", {}).items()
    }
    return {
        "commit_ms": {"p50": q("0.5"), "p90": q("0.9"), "p99": q("0.99"), "max": q("1.0")},
        "commit_samples": int(m.get("cobord_commit_seconds_count", 0)),
        "commit_batch_mean": m.get("cobord_commit_batch_mean"),
        "commits_total": int(m.get("cobord_commits_total", 0)),
        "updates_accepted_total": int(m.get("cobord_updates_accepted_total", 0)),
        "updates_refused_total": int(m.get("cobord_updates_refused_total", 0)),
        "connections_opened_total": int(m.get("cobord_connections_opened_total", 0)),
        "connections_closed_total": closed,
        "rooms_loaded": int(m.get("cobord_rooms_loaded", 0)),
        "memory_releases_total": int(m.get("cobord_memory_releases_total", 0)),
        "connections": int(m.get("cobord_connections", 0)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("--out")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    result = {
        "kind": "cobord-metrics",
        "label": args.label,
        "scraped_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **summary(fetch(args.base_url)),
    }
    line = json.dumps(result)
    if args.out:
        with open(args.out, "w") as f:
            f.write(line + "\n")
    sys.stdout.write(line + "\n")


if __name__ == "__main__":
    main()
