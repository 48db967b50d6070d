#!/usr/bin/env bash
# `make bench`: Herald's ingest under wrk, against a bare Hummingbird endpoint measured in
# the same run. Prints requests/s, events/s, p50/p99 latency and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${BENCH_DURATION:-15s}
HERALD_PORT=18080
BARE_PORT=18090
scripts/install-deps.sh wrk
swift build -c release --product herald >/dev/null
swift build -c release --product BareEndpoint >/dev/null
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

key=$(.build/release/herald keys create --workspace bench --scope ingest --db "$work/herald.sqlite" | tail -n 1)
median=$(python3 Benchmarks/load/make_wrk_scripts.py "$work" "$key")

peak_rss_mb() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
field() { grep -E "$1" "$2" | head -n 1 | awk '{print $2}'; }
run_wrk() { # name url script connections
    wrk -t2 -c"$4" -d"$DURATION" --latency -s "$3" "$2" > "$work/$1.txt" 2>&1
    echo "$(field 'Requests/sec' "$work/$1.txt") $(grep -E '^ +50%' "$work/$1.txt" | awk '{print $2}') $(grep -E '^ +99%' "$work/$1.txt" | awk '{print $2}') $(grep -cE 'Non-2xx|Socket errors' "$work/$1.txt" || true)"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB, $(uname -srm); event size: median ${median} B; duration ${DURATION} per run"

.build/release/BareEndpoint $BARE_PORT > /dev/null 2>&1 &
bare_pid=$!
sleep 1
read -r bare_rps bare_p50 bare_p99 _ <<< "$(run_wrk bare "http://127.0.0.1:$BARE_PORT/inbound/segment" "$work/single.lua" 64)"
kill $bare_pid; wait $bare_pid 2>/dev/null || true

HERALD_LOG_LEVEL=${HERALD_LOG_LEVEL:-info} .build/release/herald serve --db "$work/herald.sqlite" --port $HERALD_PORT > "$work/herald.log" 2>&1 &
herald_pid=$!
sleep 1
read -r single_rps single_p50 single_p99 single_errors <<< "$(run_wrk single "http://127.0.0.1:$HERALD_PORT/inbound/segment" "$work/single.lua" 64)"
read -r batch_rps batch_p50 batch_p99 batch_errors <<< "$(run_wrk batch "http://127.0.0.1:$HERALD_PORT/v1/batch" "$work/batch.lua" 16)"

# Half the maximum single-event rate: 50 connections each pausing so that together they send rate/2.
half=$(python3 -c "print(int(float('$single_rps') / 2))")
delay=$(python3 -c "print(max(1, int(50 * 1000 / max(1, $half))))")
paced_rps_p50_p99=$(WRK_DELAY_MS=$delay run_wrk paced "http://127.0.0.1:$HERALD_PORT/inbound/segment" "$work/paced.lua" 50)
read -r paced_rps paced_p50 paced_p99 _ <<< "$paced_rps_p50_p99"
rss=$(peak_rss_mb $herald_pid)
stored=$(sqlite3 "$work/herald.sqlite" "SELECT COUNT(*) FROM event" 2>/dev/null || echo "?")
kill -TERM $herald_pid; wait $herald_pid 2>/dev/null || true

# The same single-event run against a server with 1,000 mappings loaded (fresh database).
python3 Benchmarks/load/make_mappings_config.py "$work/mappings.yaml"
mkdir -p "$work/mapped"
mapped_key=$(.build/release/herald keys create --workspace bench --scope ingest --db "$work/mapped/herald.sqlite" | tail -n 1)
.build/release/herald apply -f "$work/mappings.yaml" --workspace bench --db "$work/mapped/herald.sqlite" > /dev/null
python3 Benchmarks/load/make_wrk_scripts.py "$work/mapped" "$mapped_key" > /dev/null
HERALD_LOG_LEVEL=${HERALD_LOG_LEVEL:-info} .build/release/herald serve --db "$work/mapped/herald.sqlite" --port $HERALD_PORT > "$work/mapped/herald.log" 2>&1 &
mapped_pid=$!
sleep 1
read -r mapped_rps mapped_p50 mapped_p99 mapped_errors <<< "$(run_wrk mapped "http://127.0.0.1:$HERALD_PORT/inbound/segment" "$work/mapped/single.lua" 64)"
kill -TERM $mapped_pid; wait $mapped_pid 2>/dev/null || true
mapped_ratio=$(python3 -c "print(round(100 * float('$mapped_rps') / float('$single_rps'), 1))")

batch_events=$(python3 -c "print(int(float('$batch_rps') * 100))")
ratio=$(python3 -c "print(round(100 * float('$single_rps') / float('$bare_rps'), 1))")
cat <<REPORT

| run | connections | requests/s | events/s | p50 | p99 |
|---|---|---|---|---|---|
| bare Hummingbird endpoint (baseline) | 64 | $bare_rps | — | $bare_p50 | $bare_p99 |
| Herald single event, durable | 64 | $single_rps | $single_rps | $single_p50 | $single_p99 |
| Herald /v1/batch, 100 events/request | 16 | $batch_rps | $batch_events | $batch_p50 | $batch_p99 |
| Herald single event at half max rate ($half/s target) | 50 | $paced_rps | $paced_rps | $paced_p50 | $paced_p99 |
| Herald single event, 1,000 mappings loaded | 64 | $mapped_rps | $mapped_rps | $mapped_p50 | $mapped_p99 |

single-event ingest = ${ratio}% of the bare endpoint (target >= 70%)
batch ingest = ${batch_events} events/s (target >= 150000)
p99 at half max rate = ${paced_p99} (target < 10ms)
peak RSS of herald = ${rss} MB (target < 200 MB)
single-event ingest with 1,000 mappings = ${mapped_ratio}% of the figure without (target >= 90%)
events stored = ${stored}; wrk error lines: single ${single_errors}, batch ${batch_errors}, mapped ${mapped_errors}
REPORT
