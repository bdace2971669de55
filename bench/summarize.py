"""Markdown tables from bench/results: Cobord and the anchor servers side by side.

    .venv/bin/python bench/summarize.py [bench/results]

Reads the harness' one-line results (<server>-<case>.json), the /metrics scrapes beside the Cobord
ones (<server>-<case>.metrics.json), bench/memory.py's memory-*.json and sitting.json, and prints:
workshop (fan-out), cold load, group commit, memory, and the issue's targets checked against the
Cobord SQLite runs. Standard library only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ORDER = {"cobord-sqlite": 0, "cobord-pg": 1, "yws": 2, "hocuspocus": 3, "pycrdt": 4}
MB_120_IN_MIB = 120e6 / 2**20  # the target says MB; the harness reports MiB


def load(
    folder: Path,
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], list[Any], list[Any]]:
    runs, metrics, memory, sittings = [], {}, [], []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text().strip().splitlines()[-1])
        except (ValueError, IndexError):
            continue
        stem = path.name.removesuffix(".json")
        if data.get("kind") == "cobord-metrics":
            metrics[stem.removesuffix(".metrics")] = data
        elif data.get("kind") == "memory":
            memory.append(data)
        elif data.get("kind") == "sitting":
            sittings.append(data)
        elif data.get("scenario") in ("workshop", "coldload") and "profile" not in stem:
            runs.append(
                {**data, "case": stem.removeprefix(f"{data.get('server_name')}-"), "stem": stem}
            )
    sittings.sort(key=lambda x: str(x["started_at"]))
    return runs, metrics, memory, sittings


def v(x: Any, nd: int | None = None) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return str(x).lower()
    if nd is not None and isinstance(x, int | float):
        return f"{x:.{nd}f}"
    return str(x)


def pct(ratio: Any) -> str:
    if ratio is None:
        return "–"
    return "100 %" if ratio == 1 else f"{100 * ratio:.3f} %"


def commit_cell(m: dict[str, Any] | None) -> str:
    if not m:
        return "–"
    c = m["commit_ms"]
    return f"{v(c['p50'], 1)} / {v(c['p99'], 1)} ({v(m['commit_batch_mean'], 1)})"


def sort_key(r: dict[str, Any]) -> tuple[Any, ...]:
    return (
        r.get("params", {}).get("clients", 0),
        ORDER.get(r.get("server_name", ""), 9),
        len(r["case"]),
        r["case"],
    )


def workshop_table(runs: list[dict[str, Any]], metrics: dict[str, Any]) -> list[str]:
    out = [
        "| server | case | clients | delivered | deliveries/s (offered) | p50 / p99 / max ms "
        "| server CPU s (util) | peak RSS MiB | converged (lost notes) | commit p50 / p99 ms "
        "(mean batch) | other procs cores |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted((r for r in runs if r["scenario"] == "workshop"), key=sort_key):
        lat = r.get("latency_ms", {}).get("all", {})
        d = r.get("deliveries", {})
        s = r.get("server") or {}
        c = r.get("convergence") or {}
        noise = (r.get("machine") or {}).get("during_post_drain") or {}
        out.append(
            f"| {r['server_name']} | {r['case']} | {r['params']['clients']} "
            f"| {pct(d.get('ratio'))} "
            f"| {v(d.get('per_s'))} ({v(d.get('offered_per_s'))}) "
            f"| {v(lat.get('p50'))} / {v(lat.get('p99'))} / {v(lat.get('max'))} "
            f"| {v(s.get('cpu_s_total'))} ({v(s.get('cpu_util_post_drain'))}) "
            f"| {v(s.get('peak_rss_mib'))} | {v(c.get('converged'))} ({v(c.get('lost_notes'))}) "
            f"| {commit_cell(metrics.get(r['stem']))} | {v(noise.get('other_procs_cores'))} |"
        )
    return out


def coldload_table(runs: list[dict[str, Any]], metrics: dict[str, Any]) -> list[str]:
    out = [
        "| server | notes | prefill upd/s | cold join raw median ms (runs) "
        "| cold join full median ms | sync payload B | all notes present | server CPU s "
        "| RSS after prefill / peak MiB "
        "| commit p50 / p99 ms (mean batch) | other procs cores |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted((r for r in runs if r["scenario"] == "coldload"), key=sort_key):
        raw = r.get("cold_raw") or {}
        full = r.get("cold_full") or {}
        s = r.get("server") or {}
        runs_ms = ", ".join(str(x.get("ms", "err")) for x in raw.get("runs", []))
        payload = (raw.get("runs") or [{}])[0].get("step2_bytes")
        noise = (r.get("machine") or {}).get("during_run") or {}
        out.append(
            f"| {r['server_name']} | {r['params']['notes']} "
            f"| {v((r.get('prefill') or {}).get('updates_per_s'))} "
            f"| {v(raw.get('median_ms'))} ({runs_ms}) | {v(full.get('median_ms'))} | {v(payload)} "
            f"| {v(full.get('all_notes_present'))} | {v(s.get('cpu_s_total'))} "
            f"| {v(s.get('rss_after_prefill_mib'))} / {v(s.get('peak_rss_mib'))} "
            f"| {commit_cell(metrics.get(r['stem']))} | {v(noise.get('other_procs_cores'))} |"
        )
    return out


def commit_table(metrics: dict[str, Any]) -> list[str]:
    out = [
        "| case | commits | p50 ms | p90 ms | p99 ms | max ms | mean batch (updates) "
        "| accepted | refused | closes by code |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, m in sorted(metrics.items()):
        if "profile" in label:
            continue
        c = m["commit_ms"]
        out.append(
            f"| {label} | {m['commits_total']} | {v(c['p50'])} | {v(c['p90'])} | {v(c['p99'])} "
            f"| {v(c['max'])} | {v(m['commit_batch_mean'])} | {m['updates_accepted_total']} "
            f"| {m['updates_refused_total']} | {m['connections_closed_total']} |"
        )
    return out


def memory_table(memory: list[dict[str, Any]]) -> list[str]:
    out = [
        "| allocator env | boards x notes | start MiB | all loaded MiB | peak (VmHWM) MiB "
        "| after unload MiB | growth returned | after cycle 2 (reload + unload) MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in memory:
        env = " ".join(
            f"{k}={val}" for k, val in m["env"].items() if k != "COBORD_IDLE_UNLOAD_SECONDS"
        )
        if m.get("trim_after_unload"):
            env = f"{env} + malloc_trim(0) after unload (experiment)".strip()
        out.append(
            f"| {env or '(glibc defaults)'} | {m['boards']} x {m['notes_per_board']} "
            f"| {m['rss_start_mib']} | {m['rss_loaded_mib']} | {m['peak_rss_mib']} "
            f"| {m['rss_after_unload_mib']} | {int(100 * m['returned_fraction'])} % "
            f"| {m['rss_after_last_unload_mib']} |"
        )
    return out


def targets(runs: list[dict[str, Any]], memory: list[dict[str, Any]]) -> list[str]:
    mine = [r for r in runs if r["server_name"] == "cobord-sqlite"]
    c200 = [r for r in mine if r["scenario"] == "workshop" and r["params"]["clients"] == 200]
    cold = [r for r in mine if r["scenario"] == "coldload"]
    out = ["| target | measured (Cobord, SQLite) | met |", "|---|---|---|"]

    def row(name: str, values: list[Any], ok: Any) -> None:
        shown = ", ".join(v(x) for x in values) or "not measured"
        met = "–" if not values else ("yes" if all(ok(x) for x in values) else "**no**")
        out.append(f"| {name} | {shown} | {met} |")

    row(
        "c200 x 1 op/s: 100 % delivered",
        [pct(r["deliveries"]["ratio"]) for r in c200],
        lambda x: x == "100 %",
    )
    row("c200: p99 <= 50 ms", [r["latency_ms"]["all"]["p99"] for r in c200], lambda x: x <= 50)
    row(
        "c200: server CPU <= 0.6 core (util, posting + drain)",
        [(r.get("server") or {}).get("cpu_util_post_drain") for r in c200],
        lambda x: x is not None and x <= 0.6,
    )
    row(
        f"c200: peak RSS <= 120 MB (= {MB_120_IN_MIB:.1f} MiB)",
        [(r.get("server") or {}).get("peak_rss_mib") for r in c200],
        lambda x: x is not None and x <= MB_120_IN_MIB,
    )
    row(
        "cold join raw (10k notes) <= 30 ms, median",
        [(r.get("cold_raw") or {}).get("median_ms") for r in cold],
        lambda x: x is not None and x <= 30,
    )
    row(
        "idle board memory returned (RSS: 100 boards loaded -> all unloaded; >= 50 % of the "
        "growth counts as returned)",
        [
            f"{m['rss_loaded_mib']} -> {m['rss_after_unload_mib']} MiB "
            f"({int(100 * m['returned_fraction'])} %)"
            for m in memory
            if not m.get("trim_after_unload")
        ],
        lambda x: int(x.rsplit("(", 1)[1].split(" ")[0]) >= 50,
    )
    return out


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "results")
    runs, metrics, memory, sittings = load(folder)
    lines: list[str] = []
    for i, sitting in enumerate(sittings):
        lines += [
            f"{'Sitting' if i == 0 else 'Re-run of some cases'} {sitting['started_at']}: "
            f"cobord {sitting['cobord_commit']}, node {sitting['node']}, "
            f"python {sitting['python']}, {sitting['nproc']} CPUs, "
            f"load {sitting['loadavg']} at start."
            + (f" Server env: {sitting['inherited_env']}" if sitting.get("inherited_env") else ""),
            "",
        ]
    lines += [
        "### Workshop (N clients x 1 op/s, 20 s, 5 full clients)",
        "",
        *workshop_table(runs, metrics),
        "",
    ]
    lines += [
        "### Cold load (10,000 notes, then 5 fresh joins)",
        "",
        *coldload_table(runs, metrics),
        "",
    ]
    if metrics:
        lines += [
            "### Group commit (Cobord /metrics at the end of each case)",
            "",
            *commit_table(metrics),
            "",
        ]
    if memory:
        lines += ["### Memory (bench/memory.py)", "", *memory_table(memory), ""]
    lines += ["### Targets", "", *targets(runs, memory)]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
