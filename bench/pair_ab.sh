#!/bin/bash
# Target 4 of #17 (the cost of scaling out): bench/multiprocess.py on two processes and on one,
# interleaved, with the servers' context switches (perf stat) and run-queue waits
# (/proc/<pid>/schedstat) over 12 s of the load. One JSON line per run in OUTDIR/sitting.jsonl.
#
#   bench/pair_ab.sh bench/results/sitting-18 "2:pair:25 1:one:25" 3
#   (each case is processes:label:COBORD_RELAY_WINDOW_MS; run on a quiet machine)
set -euo pipefail
out=$1 cases=$2 rounds=${3:-2}
mkdir -p "$out"
cd "$(dirname "$0")/.."

run() { # processes label relay_ms
  COBORD_RELAY_WINDOW_MS=$3 .venv/bin/python bench/multiprocess.py --processes "$1" --store pg \
    --clients 200 --rate 1 --duration 20 2>&1 | grep '^{' > "$out/run.json" &
  local bench=$!
  sleep 12 # the servers are up and the clients connected: the load is on
  local pids
  pids=$(pgrep -f "server.cli serve" | paste -sd,)
  for p in ${pids//,/ }; do cat "/proc/$p/schedstat"; done > "$out/sched0.txt"
  perf stat -e task-clock,context-switches -p "$pids" -o "$out/perf.txt" -- sleep 12 >/dev/null 2>&1
  for p in ${pids//,/ }; do cat "/proc/$p/schedstat"; done > "$out/sched1.txt"
  uptime >> "$out/load.txt"
  wait $bench
  python3 - "$2" "$3" "$out" <<'PY'
import json, re, sys
label, relay, out = sys.argv[1:]
run = json.load(open(f"{out}/run.json"))
perf = open(f"{out}/perf.txt").read()
switches = re.search(r"([\d,.]+)\s+context-switches", perf)
before = [list(map(int, line.split())) for line in open(f"{out}/sched0.txt")]
after = [list(map(int, line.split())) for line in open(f"{out}/sched1.txt")]
run.update(
    label=label,
    relay_window_ms=float(relay),
    context_switches=float(switches.group(1).replace(",", "")) if switches else None,
    on_cpu_ms=sum(b[0] - a[0] for a, b in zip(before, after)) / 1e6,
    runnable_waiting_ms=sum(b[1] - a[1] for a, b in zip(before, after)) / 1e6,
)
with open(f"{out}/sitting.jsonl", "a") as f:
    f.write(json.dumps(run) + "\n")
print(label, run["processes"], f"relay {relay} ms", f"{run['cpu_us_per_delivery']} us/delivery",
      f"{run['updates_per_commit']} upd/commit", f"{run['writes_per_delivery']} writes/delivery",
      f"p50 {run['p50_ms']:.1f} p99 {run['p99_ms']:.1f} ms", f"switches {run['context_switches']}",
      f"on cpu / waiting {run['on_cpu_ms']:.0f} / {run['runnable_waiting_ms']:.0f} ms")
PY
}

for _ in $(seq "$rounds"); do
  for case in $cases; do
    IFS=: read -r processes label relay <<< "$case"
    run "$processes" "$label" "$relay"
  done
done
