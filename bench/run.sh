#!/usr/bin/env bash
# Cobord under the shared y-websocket load harness, then the anchor servers, in one sitting.
#
#   bench/run.sh                         # everything (~12 min on 2 quiet cores, + waits for quiet)
#   SIZES="100" REPEAT="" PG_SIZES="" COLDLOAD=0 ANCHORS=0 MEMORY=0 bench/run.sh   # a quick subset
#
# What it does (every server is fresh per case, bound to 127.0.0.1 on a free port, stopped by PID):
#   1. copies $SHARED_BENCH (default ../shared/bench from the repo root) to bench/.work/harness
#      (git-ignored) and runs `npm ci` there once (again only when its package-lock.json changes);
#   2. takes the code to measure: by default a `git archive` of HEAD (or $BENCH_COMMIT) in
#      bench/.work/src-<commit>
#      (other people's uncommitted edits are not measured); BENCH_SOURCE=tree measures the
#      working tree with `.venv/bin/cobord serve` instead;
#   3. Cobord cases: `cobord serve` on SQLite (a fresh file in a temp dir, persistence on), a board
#      created through the API, the harness' workshop scenario with the FACILITATOR token (the
#      harness writes a `votes` root map, which participants may not) for c in $SIZES (+ $REPEAT),
#      the coldload scenario (10,000 notes), and the workshop on PostgreSQL for c in $PG_SIZES
#      (a fresh database per case, dropped afterwards). /metrics is scraped at the end of each case
#      (group-commit latency, batch size) into results/<case>.metrics.json;
#   4. the anchors with the shared run-matrix.sh (same harness copy, same sitting);
#   5. bench/memory.py (100 boards x 200 notes, unload, RSS) with the default allocator, with
#      MALLOC_ARENA_MAX=2 + MALLOC_TRIM_THRESHOLD_, and (an experiment, bench/trim_launch.py) with
#      gc.collect() + malloc_trim(0) injected after each unload;
#   6. PROFILE=1: one extra run (PROFILE_CLIENTS clients, 200) with py-spy attached (not used for
#      the figures);
#   7. bench/summarize.py -> results/summary.md.
#
# Rate limit: the coldload prefill writes 10,000 updates through ONE socket (up to 2,000 in
# flight); the default per-connection limit (200 msg/s, burst 2,000) would close it with 4429, so
# the coldload server runs with COBORD_RATE_PER_SECOND=0. Workshop cases keep the default limit
# (each client sends ~1 op/s).
#
# Env knobs [defaults]: SIZES [20 100 200] REPEAT [200 200] PG_SIZES [100 200] COLDLOAD [1] ANCHORS [1]
#   ANCHOR_SETS ["yws hocuspocus:20 100 200:200;pycrdt:20 100:"] (servers:sizes:repeat; ...)
#   MEMORY [1] PROFILE [0] RATE [1] DURATION [20] FULL [5] NOTES [10000] DRAIN [30] STALL [8]
#   CONNECT [50] (Cobord cases' --connect-concurrency; the anchors' run-matrix.sh always uses 50)
#   COLD_RUNS [5] SCHEMA [board] BENCH_SOURCE [head|tree] BENCH_COMMIT [HEAD] (with BENCH_SOURCE=head: which commit) SHARED_BENCH [../shared/bench] RESULTS [bench/results]
#   CLEAN [1] (delete previous results first)  PG_DSN [postgres@127.0.0.1:5432]
#   QUIET_WAIT [180] QUIET_CORES [0.3]: before each case (and each anchor set) wait up to
#     QUIET_WAIT s for the other processes to use < QUIET_CORES cores; the harness records the
#     noise during each run anyway (machine.*.other_procs_cores).
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$ROOT/bench"
SHARED_BENCH="${SHARED_BENCH:-$ROOT/../shared/bench}"
WORK="$BENCH/.work"
HARNESS="$WORK/harness"
RESULTS="${RESULTS:-$BENCH/results}"
PY="$ROOT/.venv/bin/python"
SIZES="${SIZES-20 100 200}"
REPEAT="${REPEAT-200 200}"
PG_SIZES="${PG_SIZES-100 200}"
COLDLOAD="${COLDLOAD:-1}"
ANCHORS="${ANCHORS:-1}"
ANCHOR_SETS="${ANCHOR_SETS:-yws hocuspocus:20 100 200:200;pycrdt:20 100:}"
MEMORY="${MEMORY:-1}"
PROFILE="${PROFILE:-0}"
PROFILE_CLIENTS="${PROFILE_CLIENTS:-200}"
RATE="${RATE:-1}"
DURATION="${DURATION:-20}"
FULL="${FULL:-5}"
NOTES="${NOTES:-10000}"
DRAIN="${DRAIN:-30}"
STALL="${STALL:-8}"
CONNECT="${CONNECT:-50}"
COLD_RUNS="${COLD_RUNS:-5}"
SCHEMA="${SCHEMA:-board}"
BENCH_SOURCE="${BENCH_SOURCE:-head}"
CLEAN="${CLEAN:-1}"
QUIET_WAIT="${QUIET_WAIT:-180}"
QUIET_CORES="${QUIET_CORES:-0.3}"
PG_DSN="${PG_DSN:-postgres@127.0.0.1:5432}"
PG_USER="${PG_DSN%@*}"
PG_HOSTPORT="${PG_DSN#*@}"
PG_HOST="${PG_HOSTPORT%:*}"
PG_PORT="${PG_HOSTPORT#*:}"

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ -x "$PY" ] || die "no venv at $ROOT/.venv (python3 -m venv .venv && .venv/bin/pip install -e '.[test]')"
[ -d "$SHARED_BENCH" ] || die "no harness at $SHARED_BENCH (set SHARED_BENCH)"
command -v node >/dev/null || die "node is required"
mkdir -p "$WORK" "$RESULTS"

# ---------------------------------------------------------------- 1. harness copy + npm ci
prepare_harness() {
  mkdir -p "$HARNESS"
  chmod -R u+w "$HARNESS" 2>/dev/null
  # Copy everything but dependencies/results; keep node_modules and .venv between runs.
  rsync -a --delete --exclude node_modules --exclude .venv --exclude results --exclude .lock-sha "$SHARED_BENCH/" "$HARNESS/"
  chmod -R u+w "$HARNESS"
  local sha; sha="$(sha256sum "$HARNESS/package-lock.json" | cut -d' ' -f1)"
  if [ ! -d "$HARNESS/node_modules" ] || [ "$(cat "$HARNESS/.lock-sha" 2>/dev/null)" != "$sha" ]; then
    log "npm ci in $HARNESS"
    (cd "$HARNESS" && npm ci --no-audit --no-fund >/dev/null) || die "npm ci failed in $HARNESS"
    echo "$sha" >"$HARNESS/.lock-sha"
  fi
}

prepare_anchor_venv() {
  if [ ! -x "$HARNESS/.venv/bin/python" ] || ! "$HARNESS/.venv/bin/python" -c 'import pycrdt.websocket' 2>/dev/null; then
    log "pycrdt anchor venv in $HARNESS/.venv"
    (cd "$HARNESS" && python3 -m venv .venv && .venv/bin/pip install -q -r servers/requirements.txt) ||
      die "could not install the pycrdt anchor's requirements"
  fi
}

# ---------------------------------------------------------------- 2. the code under test
prepare_source() {
  if [ "$BENCH_SOURCE" = tree ]; then
    SRC="$ROOT"
    COMMIT="$(git -C "$ROOT" rev-parse HEAD)+worktree"
    return
  fi
  COMMIT="$(git -C "$ROOT" rev-parse "${BENCH_COMMIT:-HEAD}")" || die "unknown commit $BENCH_COMMIT"
  SRC="$WORK/src-${COMMIT:0:12}"
  if [ ! -d "$SRC/server" ]; then
    rm -rf "$SRC.tmp" && mkdir -p "$SRC.tmp"
    git -C "$ROOT" archive "$COMMIT" | tar -x -C "$SRC.tmp" || die "git archive failed"
    mv "$SRC.tmp" "$SRC"
  fi
}

# ---------------------------------------------------------------- server lifecycle
SERVER_PID=""
PORT=""
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null
    for _ in $(seq 150); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      log "server $SERVER_PID ignored SIGTERM for 15 s: SIGKILL"
      kill -9 "$SERVER_PID" 2>/dev/null
    fi
    wait "$SERVER_PID" 2>/dev/null
  fi
  SERVER_PID=""
}
PROFILER_PID=""
cleanup() {
  [ -n "$PROFILER_PID" ] && kill "$PROFILER_PID" 2>/dev/null
  stop_server
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start_cobord() { # database-url log [ENV=VALUE ...]; sets SERVER_PID and PORT
  local db="$1" logf="$2"; shift 2
  PORT="$(free_port)"
  if [ "$BENCH_SOURCE" = tree ]; then
    (cd "$ROOT" && exec env SECRET_KEY=bench-secret "$@" "$ROOT/.venv/bin/cobord" serve \
      --port "$PORT" --database-url "$db" --log-level warning) >>"$logf" 2>&1 &
  else
    # `python -m server.cli` from the snapshot: its `server` package comes first on sys.path.
    (cd "$SRC" && exec env SECRET_KEY=bench-secret "$@" "$PY" -m server.cli serve \
      --port "$PORT" --database-url "$db" --log-level warning) >>"$logf" 2>&1 &
  fi
  SERVER_PID=$!  # the subshell execs the server: this is the process doing the work
  for _ in $(seq 200); do  # up to 20 s
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  log "cobord did not come up; see $logf"
  stop_server
  return 1
}

create_board() { # -> "id token"
  curl -sf -X POST -H 'content-type: application/json' -d '{"title":"bench"}' \
    "http://127.0.0.1:$PORT/api/boards" | jq -r '.id + " " + .facilitator_token'
}

wait_quiet() { # up to QUIET_WAIT s until the rest of the machine uses < QUIET_CORES cores (2 s sample)
  [ "$QUIET_WAIT" -gt 0 ] || return 0
  local t0 busy; t0=$(date +%s)
  while :; do
    busy="$(python3 - <<'PY'
import os, time
def snap():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(f) - f[3] - f[4], sum(f)
b0, t0 = snap(); time.sleep(2); b1, t1 = snap()
print(f"{(b1 - b0) / max(1, t1 - t0) * os.cpu_count():.2f}")
PY
)"
    if python3 -c "import sys; sys.exit(0 if $busy < $QUIET_CORES else 1)"; then
      [ $(($(date +%s) - t0)) -gt 3 ] && log "machine quiet after $(($(date +%s) - t0)) s ($busy cores busy)"
      return 0
    fi
    if [ $(($(date +%s) - t0)) -ge "$QUIET_WAIT" ]; then
      log "machine still busy after $QUIET_WAIT s ($busy cores used by other processes): running anyway"
      return 0
    fi
  done
}

pg_admin() { psql -X -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -c "$1" >/dev/null; }

# run_cobord_case backend label timeout env-list bench-args...
#   env-list: space-separated ENV=VALUE for the server ("" for none)
run_cobord_case() {
  local backend="$1" label="$2" limit="$3" envs="$4"; shift 4
  local name="cobord-$backend"
  local tmp; tmp="$(mktemp -d "$WORK/case.XXXXXX")"
  local db pgdb=""
  if [ "$backend" = pg ]; then
    pgdb="cobord_bench_$(date +%s)_$RANDOM"
    pg_admin "CREATE DATABASE \"$pgdb\"" || { log "cannot create PostgreSQL database"; return 1; }
    db="postgresql+asyncpg://$PG_USER@$PG_HOST:$PG_PORT/$pgdb"
  else
    db="sqlite+aiosqlite:///$tmp/cobord.db"
  fi
  local base="$RESULTS/$name-$label"
  wait_quiet
  log "== $name $label"
  # shellcheck disable=SC2086
  if ! start_cobord "$db" "$RESULTS/$name.server.log" $envs; then
    [ -n "$pgdb" ] && pg_admin "DROP DATABASE IF EXISTS \"$pgdb\" WITH (FORCE)"
    return 1
  fi
  local board token
  read -r board token < <(create_board)
  if [ -z "${token:-}" ] || [ "$token" = null ]; then
    log "board creation failed"; stop_server; return 1
  fi
  (cd "$HARNESS" && timeout "$limit" node bench.mjs --url "ws://127.0.0.1:$PORT/ws" --room "$board" \
    --query "token=$token" --server-pid "$SERVER_PID" --server-name "$name" \
    --out "$base.json" --raw "$base.raw" "$@" >/dev/null 2>"$base.txt")
  local rc=$?
  [ $rc -ne 0 ] && log "bench exited $rc (see $base.txt)"
  "$PY" "$BENCH/prom.py" "http://127.0.0.1:$PORT" --label "$name-$label" --out "$base.metrics.json" >/dev/null ||
    log "metrics scrape failed"
  {
    echo "cobord commit: $COMMIT  database: ${db%%:*}  server env: ${envs:-(defaults)}  inherited: $(env | grep '^COBORD_' | sort | tr '\n' ' ')"
    jq -r '"group commit: p50 \(.commit_ms.p50) ms, p99 \(.commit_ms.p99) ms, max \(.commit_ms.max) ms over \(.commit_samples) commits; mean batch \(.commit_batch_mean) updates; accepted \(.updates_accepted_total), refused \(.updates_refused_total), closes \(.connections_closed_total)"' "$base.metrics.json" 2>/dev/null
  } >>"$base.txt"
  tail -n 16 "$base.txt" | sed 's/^/  /' >&2
  stop_server
  [ -n "$pgdb" ] && pg_admin "DROP DATABASE IF EXISTS \"$pgdb\" WITH (FORCE)"
  rm -rf "$tmp"
  sleep 1
}

workshop_args() { # clients
  # --schema board: the note schema refuses the harness' free-form extra keys ('mv', 'ts').
  echo --scenario workshop --schema "$SCHEMA" --clients "$1" --full "$FULL" --rate "$RATE" --duration "$DURATION" --drain "$DRAIN" --stall "$STALL" --connect-concurrency "$CONNECT"
}

# ---------------------------------------------------------------- main
T0=$(date +%s)
prepare_harness
prepare_source
log "measuring cobord $COMMIT from $SRC"
SITTING_FILE=sitting.json  # CLEAN=0 (re-running some cases into the same folder) keeps it
[ "$CLEAN" = 1 ] || [ ! -e "$RESULTS/sitting.json" ] || SITTING_FILE="sitting-rerun-$(date -u +%H%M%S).json"
if [ "$CLEAN" = 1 ]; then
  find "$RESULTS" -maxdepth 1 -type f \( -name '*.json' -o -name '*.txt' -o -name '*.raw' -o -name '*.log' -o -name '*.md' \) -delete
fi
{
  echo "{\"kind\":\"sitting\",\"started_at\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"cobord_commit\":\"$COMMIT\","
  echo "\"node\":\"$(node --version)\",\"python\":\"$("$PY" -c 'import platform; print(platform.python_version())')\","
  echo "\"nproc\":$(nproc),\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\","
  echo "\"inherited_env\":\"$(env | grep '^COBORD_' | sort | tr '\n' ' ')\"}"
} | tr -d '\n' >"$RESULTS/$SITTING_FILE"
echo >>"$RESULTS/$SITTING_FILE"

for n in $SIZES; do
  # shellcheck disable=SC2046
  run_cobord_case sqlite "workshop-c$n" 240 "" $(workshop_args "$n")
done
declare -A runs_of=()
for n in $REPEAT; do  # a size listed twice runs twice more: -r2, -r3
  runs_of[$n]=$((${runs_of[$n]:-1} + 1))
  # shellcheck disable=SC2046
  run_cobord_case sqlite "workshop-c$n-r${runs_of[$n]}" 240 "" $(workshop_args "$n")
done
if [ "$COLDLOAD" = 1 ]; then
  if [ $((NOTES % 1000)) -eq 0 ]; then nl="$((NOTES / 1000))k"; else nl="$NOTES"; fi
  run_cobord_case sqlite "coldload-$nl" 300 "COBORD_RATE_PER_SECOND=0" \
    --scenario coldload --schema "$SCHEMA" --notes "$NOTES" --cold-runs "$COLD_RUNS"
fi
if [ -n "$PG_SIZES" ]; then
  if pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
    for n in $PG_SIZES; do
      # shellcheck disable=SC2046
      run_cobord_case pg "workshop-c$n" 240 "" $(workshop_args "$n")
    done
  else
    log "PostgreSQL at $PG_HOST:$PG_PORT is not ready: PostgreSQL cases skipped"
  fi
fi

if [ "$ANCHORS" = 1 ]; then
  echo "$ANCHOR_SETS" | grep -q pycrdt && prepare_anchor_venv
  IFS=';' read -r -a sets <<<"$ANCHOR_SETS"
  for set in "${sets[@]}"; do
    IFS=':' read -r servers sizes repeat <<<"$set"
    wait_quiet
    log "== anchors: $servers (sizes: $sizes; repeat: ${repeat:-none})"
    (cd "$HARNESS" && SERVERS="$servers" SIZES="$sizes" REPEAT="$repeat" EXTRA=0 RATE="$RATE" \
      DURATION="$DURATION" FULL="$FULL" NOTES="$NOTES" RESULTS="$RESULTS" ./run-matrix.sh) 2>&1 |
      grep -E '^(== |  bench exited|  server )' >&2
  done
fi

if [ "$MEMORY" = 1 ]; then
  log "== memory: default allocator"
  "$PY" "$BENCH/memory.py" --src "$SRC" --label default --out "$RESULTS/memory-default.json" \
    2>"$RESULTS/memory-default.log" | tee "$RESULTS/memory-default.txt" >&2
  log "== memory: MALLOC_ARENA_MAX=2 MALLOC_TRIM_THRESHOLD_=131072"
  "$PY" "$BENCH/memory.py" --src "$SRC" --label arena2-trim --env MALLOC_ARENA_MAX=2 \
    --env MALLOC_TRIM_THRESHOLD_=131072 --out "$RESULTS/memory-arena2-trim.json" \
    2>"$RESULTS/memory-arena2-trim.log" | tee "$RESULTS/memory-arena2-trim.txt" >&2
  log "== memory: experiment, gc.collect + malloc_trim(0) injected after each unload"
  "$PY" "$BENCH/memory.py" --src "$SRC" --label malloc-trim-experiment --trim \
    --out "$RESULTS/memory-malloc-trim-experiment.json" \
    2>"$RESULTS/memory-malloc-trim-experiment.log" | tee "$RESULTS/memory-malloc-trim-experiment.txt" >&2
fi

if [ "$PROFILE" = 1 ]; then
  # A separate run: py-spy pauses the process to sample it, so these figures are not reported.
  if [ ! -x "$ROOT/.venv/bin/py-spy" ]; then
    "$ROOT/.venv/bin/pip" install -q py-spy || die "pip install py-spy failed"
  fi
  tmp="$(mktemp -d "$WORK/case.XXXXXX")"
  base="$RESULTS/cobord-sqlite-profile-c$PROFILE_CLIENTS"
  wait_quiet
  log "== profile: c$PROFILE_CLIENTS with py-spy (10 s, from 8 s after start)"
  if start_cobord "sqlite+aiosqlite:///$tmp/cobord.db" "$RESULTS/cobord-sqlite.server.log"; then
    read -r board token < <(create_board)
    (cd "$HARNESS" && timeout 240 node bench.mjs --url "ws://127.0.0.1:$PORT/ws" --room "$board" \
      --query "token=$token" --server-pid "$SERVER_PID" --server-name cobord-sqlite-profiled \
      --out "$base.json" $(workshop_args "$PROFILE_CLIENTS") >/dev/null 2>"$base.txt") &
    bench_pid=$!
    sleep 8  # connect phase (~1-2 s) + settle: sample the posting phase
    "$ROOT/.venv/bin/py-spy" record --pid "$SERVER_PID" --duration 10 --format raw \
      -o "$base.raw" >"$RESULTS/py-spy.log" 2>&1 &
    PROFILER_PID=$!
    wait "$PROFILER_PID"; PROFILER_PID=""
    wait "$bench_pid"
    stop_server
    "$PY" "$BENCH/profile_top.py" "$base.raw" >"$base.top.txt" && sed -n 1,40p "$base.top.txt" >&2
  fi
  rm -rf "$tmp"
fi

log "done in $(($(date +%s) - T0)) s"
"$PY" "$BENCH/summarize.py" "$RESULTS" | tee "$RESULTS/summary.md"
