#!/usr/bin/env bash
# `make bench`: Herald's ingest under wrk, against a bare Hummingbird endpoint measured in
# the same run. Prints requests/s, events/s, p50/p99 latency, peak RSS, the engine's lag,
# each server's CPU time per request, and what SQLite alone inserts per second on this machine.
#
# This VM's throughput moves by ±20% from one minute to the next, so every figure is the
# median of BENCH_REPS rounds, and each round runs the bare endpoint, Herald and Herald with
# 1,000 mappings back to back: the ratios compare runs seconds apart, not minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${BENCH_DURATION:-10s}
REPS=${BENCH_REPS:-3}
HERALD_PORT=18080
MAPPED_PORT=18081
BARE_PORT=18090
scripts/install-deps.sh wrk sqlite3
# HERALD=path/to/herald measures another build (say, the previous commit's) against the same baseline.
if [ -z "${HERALD:-}" ]; then swift build -c release --product herald >/dev/null; fi
HERALD=${HERALD:-.build/release/herald}
swift build -c release --product BareEndpoint >/dev/null
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

peak_rss_mb() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
field() { grep -E "$1" "$2" | head -n 1 | awk '{print $2}'; }
run_wrk() { # name url script connections -> "requests/s p50 p99 error-lines"
    wrk -t2 -c"$4" -d"$DURATION" --latency -s "$3" "$2" > "$work/$1.txt" 2>&1
    local rps p50 p99  # a failed wrk run prints no figures: keep the columns in place
    rps=$(field 'Requests/sec' "$work/$1.txt"); p50=$(grep -E '^ +50%' "$work/$1.txt" | awk '{print $2}'); p99=$(grep -E '^ +99%' "$work/$1.txt" | awk '{print $2}')
    echo "${rps:-0} ${p50:-nan} ${p99:-nan} $(grep -cE 'Non-2xx|Socket errors' "$work/$1.txt" || true)"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }  # 0 once the server is gone
# Appends one run's "requests/s p50 p99 errors cpu-µs-per-request" to the series file named $1;
# $5 is the server's pid, whose CPU time (user + system) over the run is divided by the requests wrk completed.
record() {
    local before after line requests
    before=$(cpu_ticks "$5")
    line=$(run_wrk "$1" "$2" "$3" "$4")
    after=$(cpu_ticks "$5")
    requests=$(grep -E 'requests in' "$work/$1.txt" | awk '{print $1}' || true)
    echo "$line $(python3 -c "print(round(($after - $before) / $(getconf CLK_TCK) / max(1, ${requests:-0}) * 1e6, 1))")" >> "$work/$1.series"
}
median_of() { # series column -> median (latencies keep their unit)
    python3 - "$work/$1.series" "$2" <<'PY'
import re, statistics, sys
values = [line.split()[int(sys.argv[2])] for line in open(sys.argv[1]) if line.strip()]
def ms(v):
    if v == "nan":
        return float("nan")
    number, unit = re.match(r"([\d.]+)(\w*)", v).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000, "": 1}[unit]
if sys.argv[2] in ("0", "4"):
    print(round(statistics.median(float(v) for v in values), 1))
else:
    print(f"{statistics.median(ms(v) for v in values):.2f}ms")
PY
}
errors_of() { awk '{s += $4} END {print s + 0}' "$work/$1.series"; }
engine_lag() { sqlite3 "$1" "SELECT COALESCE((SELECT MAX(seq) FROM event), 0) - COALESCE((SELECT lastSeq FROM engineCursor), 0)" 2>/dev/null || echo "?"; }

# Two servers on fresh databases: one without configuration, one with 1,000 mappings.
mkdir -p "$work/plain" "$work/mapped"
key=$("$HERALD" keys create --workspace bench --scope ingest --db "$work/plain/herald.sqlite" | tail -n 1)
median=$(python3 Benchmarks/load/make_wrk_scripts.py "$work/plain" "$key")
python3 Benchmarks/load/make_mappings_config.py "$work/mappings.yaml"
mapped_key=$("$HERALD" keys create --workspace bench --scope ingest --db "$work/mapped/herald.sqlite" | tail -n 1)
"$HERALD" apply -f "$work/mappings.yaml" --workspace bench --db "$work/mapped/herald.sqlite" > /dev/null
python3 Benchmarks/load/make_wrk_scripts.py "$work/mapped" "$mapped_key" > /dev/null

echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB, $(uname -srm); event size: median ${median} B; ${REPS} rounds of ${DURATION} per run"

.build/release/BareEndpoint $BARE_PORT > /dev/null 2>&1 &
bare_pid=$!
HERALD_LOG_LEVEL=${HERALD_LOG_LEVEL:-info} "$HERALD" serve --db "$work/plain/herald.sqlite" --port $HERALD_PORT > "$work/plain/herald.log" 2>&1 &
herald_pid=$!
HERALD_LOG_LEVEL=${HERALD_LOG_LEVEL:-info} "$HERALD" serve --db "$work/mapped/herald.sqlite" --port $MAPPED_PORT > "$work/mapped/herald.log" 2>&1 &
mapped_pid=$!
sleep 1

for round in $(seq "$REPS"); do
    record bare "http://127.0.0.1:$BARE_PORT/inbound/segment" "$work/plain/single.lua" 64 $bare_pid
    record single "http://127.0.0.1:$HERALD_PORT/inbound/segment" "$work/plain/single.lua" 64 $herald_pid
    record mapped "http://127.0.0.1:$MAPPED_PORT/inbound/segment" "$work/mapped/single.lua" 64 $mapped_pid
done
kill $bare_pid; wait $bare_pid 2>/dev/null || true
mapped_lag=$(engine_lag "$work/mapped/herald.sqlite")
kill -TERM $mapped_pid; wait $mapped_pid 2>/dev/null || true

for round in $(seq "$REPS"); do
    record batch "http://127.0.0.1:$HERALD_PORT/v1/batch" "$work/plain/batch.lua" 16 $herald_pid
done
batch_lag=$(engine_lag "$work/plain/herald.sqlite")
rss_before_actions=$(peak_rss_mb $herald_pid)
for round in $(seq "$REPS"); do
    record actions "http://127.0.0.1:$HERALD_PORT/inbound/segment" "$work/plain/actions.lua" 4 $herald_pid
done
rss_after_actions=$(peak_rss_mb $herald_pid)

# The paced runs measure a server in steady state: first let the engine finish the batch runs' backlog.
drain_start=$(date +%s)
while [ "$(engine_lag "$work/plain/herald.sqlite")" != "0" ] && [ $(( $(date +%s) - drain_start )) -lt 120 ]; do sleep 1; done
drain_seconds=$(( $(date +%s) - drain_start ))
if [ "$(engine_lag "$work/plain/herald.sqlite")" = "0" ]; then drained="processed within ${drain_seconds} s, before the paced runs"
else drained="NOT drained after ${drain_seconds} s: the paced runs started with the engine still behind"; fi

# Half the maximum single-event rate: 50 connections each pausing so that together they send rate/2.
single_rps=$(median_of single 0)
half=$(python3 -c "print(int(float('$single_rps') / 2))")
delay=$(python3 -c "print(max(1, int(50 * 1000 / max(1, $half))))")
for round in $(seq "$REPS"); do
    WRK_DELAY_MS=$delay record paced "http://127.0.0.1:$HERALD_PORT/inbound/segment" "$work/plain/paced.lua" 50 $herald_pid
done
rss=$(peak_rss_mb $herald_pid)
stored=$(sqlite3 "$work/plain/herald.sqlite" "SELECT COUNT(*) FROM event" 2>/dev/null || echo "?")
kill -TERM $herald_pid; wait $herald_pid 2>/dev/null || true

# What SQLite alone does on this machine, for scale beside the batch target: this run's first
# 200,000 stored events inserted again into a fresh file with Herald's own event and dedup tables
# (their indexes, WAL, synchronous=FULL), by the sqlite3 shell in C, in one transaction with one
# fsync: no HTTP, JSON, key check, engine or per-request commit.
sqlite_floor() { # events -> events/s
    local db="$work/floor.sqlite"
    sqlite3 "$db" "PRAGMA journal_mode = WAL" > /dev/null
    sqlite3 "$work/plain/herald.sqlite" "SELECT sql || ';' FROM sqlite_master WHERE tbl_name IN ('event', 'dedup') AND sql IS NOT NULL" | sqlite3 "$db"
    sqlite3 "$db" <<SQL
PRAGMA synchronous = FULL;
PRAGMA cache_size = -32768;
ATTACH '$work/plain/herald.sqlite' AS source;
CREATE TEMP TABLE copied AS SELECT * FROM source.event ORDER BY seq LIMIT $1;
CREATE TEMP TABLE clock (startedAt REAL);
INSERT INTO clock VALUES ((julianday('now') - 2440587.5) * 86400.0);
BEGIN;
INSERT INTO dedup (workspaceId, messageId, receivedAt) SELECT workspaceId, messageId, receivedAt FROM copied;
INSERT INTO event (workspaceId, messageId, type, name, userId, anonymousId, receivedAt, timestamp, settings, warnings, raw)
    SELECT workspaceId, messageId, type, name, userId, anonymousId, receivedAt, timestamp, settings, warnings, raw FROM copied;
COMMIT;
SELECT CAST($1 / ((julianday('now') - 2440587.5) * 86400.0 - startedAt) AS INTEGER) FROM clock;
SQL
}
floor_events=$(python3 -c "print(min(200000, int('$stored')) if '$stored'.isdigit() else 0)")
floor_rate=$(if [ "$floor_events" -gt 0 ]; then sqlite_floor "$floor_events" 2>/dev/null || echo "?"; else echo "?"; fi)

bare_rps=$(median_of bare 0); mapped_rps=$(median_of mapped 0); batch_rps=$(median_of batch 0); paced_rps=$(median_of paced 0)
batch_events=$(python3 -c "print(int(float('$batch_rps') * 100))")
actions_rps=$(median_of actions 0)
actions_events=$(python3 -c "print(int(float('$actions_rps') * 1000))")
ratio=$(python3 -c "print(round(100 * float('$single_rps') / float('$bare_rps'), 1))")
mapped_ratio=$(python3 -c "print(round(100 * float('$mapped_rps') / float('$single_rps'), 1))")
bare_cpu=$(median_of bare 4); single_cpu=$(median_of single 4); batch_cpu=$(median_of batch 4)
budget=$(python3 -c "print(round(float('$bare_cpu') / 0.7, 1))")
batch_event_cpu=$(python3 -c "print(round(float('$batch_cpu') / 100, 1))")
cat <<REPORT

Medians of ${REPS} rounds (each round: bare, Herald, Herald with 1,000 mappings back to back):

| run | connections | requests/s | events/s | p50 | p99 |
|---|---|---|---|---|---|
| bare Hummingbird endpoint (baseline) | 64 | $bare_rps | — | $(median_of bare 1) | $(median_of bare 2) |
| Herald single event, durable | 64 | $single_rps | $single_rps | $(median_of single 1) | $(median_of single 2) |
| Herald single event, 1,000 mappings loaded | 64 | $mapped_rps | $mapped_rps | $(median_of mapped 1) | $(median_of mapped 2) |
| Herald /v1/batch, 100 events/request | 16 | $batch_rps | $batch_events | $(median_of batch 1) | $(median_of batch 2) |
| Herald /inbound/segment, Webhooks (Actions) arrays of 1,000 events (~1.4 MB) | 4 | $actions_rps | $actions_events | $(median_of actions 1) | $(median_of actions 2) |
| Herald single event at half max rate ($half/s target) | 50 | $paced_rps | $paced_rps | $(median_of paced 1) | $(median_of paced 2) |

single-event ingest = ${ratio}% of the bare endpoint (target >= 70%)
batch ingest = ${batch_events} events/s (target >= 150000)
server CPU (user + system) per request: bare ${bare_cpu} µs, Herald single event ${single_cpu} µs, Herald batch ${batch_event_cpu} µs per event
  (both servers are CPU-bound beside wrk: 70% of the bare rate leaves Herald about ${budget} µs per request, HTTP included,
   plus the little CPU wrk no longer needs at the lower rate)
SQLite alone, ${floor_events} stored events inserted again in one transaction: ${floor_rate} events/s (Herald's event and dedup tables, WAL, synchronous=FULL)
p99 at half max rate = $(median_of paced 2) (target < 10ms)
peak RSS of herald = ${rss} MB (target < 200 MB); before the Webhooks (Actions) array runs ${rss_before_actions} MB, after them ${rss_after_actions} MB
single-event ingest with 1,000 mappings = ${mapped_ratio}% of the figure without (target >= 90%)
engine lag (events not yet processed) right after the load: 1,000 mappings ${mapped_lag}, after the batch runs ${batch_lag} (${drained})
events stored = ${stored}; wrk error lines: single $(errors_of single), mapped $(errors_of mapped), batch $(errors_of batch), arrays $(errors_of actions)

Every round (requests/s p50 p99 error-lines server-CPU-µs-per-request), to show the spread behind the medians:
$(for run in bare single mapped batch actions paced; do echo "  $run: $(paste -sd ';' "$work/$run.series" | sed 's/;/ | /g')"; done)
REPORT
