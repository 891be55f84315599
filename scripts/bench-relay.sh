#!/usr/bin/env bash
# The relay benchmarks (BENCHMARKS.md, "Relay"): the same loads against tandem-server
# and against the reference Node sync server (automerge-repo 2.5.6, tests/js/sync-server.mjs),
# one after the other in one run, printed as one markdown table per load with both systems and
# their ratio.
#
#   scripts/bench-relay.sh                      # everything, about 10-12 minutes
#   QUICK=1 scripts/bench-relay.sh              # small and short, about 3 minutes
#   LOADS="latency load" SYSTEMS=tandem scripts/bench-relay.sh
#
# Loads (LOADS, space-separated, default all):
#   latency     2 clients on 1 pair, LAT_RATE edits/s each, LAT_DURATION s
#   history     the same on a document that already has HIST_CHANGES changes, as a real workspace
#               has (HIST_RATE edits/s each, HIST_DURATION s)
#   load        LOAD_CLIENTS clients on LOAD_PAIRS pairs at LOAD_RATE edits/s each, LOAD_DURATION s
#   saturation  SAT_CLIENTS on SAT_PAIRS; the per-client rate steps through SAT_RATES until p99
#               passes SAT_STOP_P99_MS or the delivered rate grows less than SAT_GROWTH percent;
#               "max sustained" is the best delivered rate of a step with p99 <= SAT_P99_MS
#   overload    SAT_CLIENTS on SAT_PAIRS at OVER_RATES per client (default 2,4,2: the sustainable
#               rate, twice it, and back), OVER_DURATION s each with no warm-up: what the relay
#               delivers at twice its sustainable rate, and how soon latency is back to normal
#               once the load drops (the drain after the overload, then each second of the last
#               step)
#   disk        the "load" load for DISK_DURATION s while another process writes 2 GB files with
#               fsync to the disk of the relay's data directory, one after the other, the whole
#               time; tandem-disk-probe measures a bare small durable write on the same disk
#               before and during it, so the disk's share of the latency shows, and then (20 s,
#               relay idle, writer still running) what a change arriving at a random moment
#               waits when durable writes go back to back: the floor of any relay that flushes
#               before it answers; then the same (20 s) writing in place over a filled file,
#               which leaves fdatasync no metadata to commit
#   idle        IDLE_CLIENTS joined connections with no document, held IDLE_DURATION s: relay
#               memory per idle connection
#   initial     a CHANGES-change workspace is uploaded by one client, then fetched by REPEAT
#               fresh clients (warm), then the relay is restarted and it is fetched once more (cold)
#   shared      one document shared by each of SHARED_CLIENTS (space-separated counts) official
#               automerge-repo JS clients (tests/js/shared-load.mjs), each making SHARED_EDITS
#               edits SHARED_INTERVAL ms apart: frames per delivered edit, edit→other clients
#               latency, relay CPU
#
# HUB_THREADS sets tandem-server's --hub-threads (default: the number of cores).
# RELAY_LOG sets RUST_LOG for tandem-server only (default: its own, `info,automerge=warn`), e.g.
# RELAY_LOG=info to see what automerge's tracing spans cost.
#
# Every server is started fresh on 127.0.0.1 with a new temporary data directory for each load
# (tandem-server with --open), and stopped (SIGTERM, then SIGKILL) when its load ends or the
# script exits. Every tandem-load run is bounded by `timeout`. Raw JSON reports go to OUT (a
# temporary directory, deleted unless KEEP=1 or OUT is set).
set -euo pipefail

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
  : "${LAT_DURATION:=10}" "${LOAD_CLIENTS:=200}" "${LOAD_PAIRS:=100}" "${LOAD_DURATION:=10}"
  : "${SAT_CLIENTS:=200}" "${SAT_PAIRS:=100}" "${SAT_DURATION:=5}" "${SAT_RATES:=1,4,16}"
  : "${IDLE_CLIENTS:=200}" "${CHANGES:=2000}" "${REPEAT:=2}" "${WARMUP:=2}"
  : "${HIST_CHANGES:=2000}" "${HIST_DURATION:=10}" "${SHARED_EDITS:=10}"
fi
LOADS=${LOADS:-latency history load saturation overload idle initial shared}
SYSTEMS=${SYSTEMS:-tandem node}
LAT_RATE=${LAT_RATE:-2}
LAT_DURATION=${LAT_DURATION:-60}
HIST_CHANGES=${HIST_CHANGES:-10000}
HIST_RATE=${HIST_RATE:-2}
HIST_DURATION=${HIST_DURATION:-30}
LOAD_CLIENTS=${LOAD_CLIENTS:-1000}
LOAD_PAIRS=${LOAD_PAIRS:-500}
LOAD_RATE=${LOAD_RATE:-1}
LOAD_DURATION=${LOAD_DURATION:-30}
SAT_CLIENTS=${SAT_CLIENTS:-1000}
SAT_PAIRS=${SAT_PAIRS:-500}
SAT_RATES=${SAT_RATES:-0.1,0.2,0.3,0.4,0.5,0.75,1,1.25,1.5,1.75,2,2.5,3,4}
SAT_DURATION=${SAT_DURATION:-10}
SAT_P99_MS=${SAT_P99_MS:-100}
SAT_STOP_P99_MS=${SAT_STOP_P99_MS:-1000}
SAT_GROWTH=${SAT_GROWTH:-5}
OVER_RATES=${OVER_RATES:-2,4,2}
OVER_DURATION=${OVER_DURATION:-10}
DISK_DURATION=${DISK_DURATION:-30}
IDLE_CLIENTS=${IDLE_CLIENTS:-1000}
IDLE_DURATION=${IDLE_DURATION:-5}
CHANGES=${CHANGES:-10000}
REPEAT=${REPEAT:-3}
WARMUP=${WARMUP:-5}
DRAIN=${DRAIN:-5}
LIMIT=${LIMIT:-600}
KEEP=${KEEP:-0}
SHARED_CLIENTS=${SHARED_CLIENTS:-2 5 10}
SHARED_EDITS=${SHARED_EDITS:-20}
SHARED_INTERVAL=${SHARED_INTERVAL:-100}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

echo "## Building (release)" >&2
cargo build --release -q -p tandem-server -p tandem-tests >&2
target_dir=$(cargo metadata --format-version 1 --no-deps 2>/dev/null | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
target_dir=${target_dir:-$root/target}
server_bin="$target_dir/release/tandem-server"
load_bin="$target_dir/release/tandem-load"
probe_bin="$target_dir/release/tandem-disk-probe"
node_server="$root/tests/js/sync-server.mjs"
case " $SYSTEMS $LOADS " in
  *" node "*|*" shared "*)
    command -v node >/dev/null || { echo "node is needed for the reference server" >&2; exit 1; }
    if [ ! -d "$root/tests/js/node_modules/@automerge/automerge-repo" ]; then
      echo "## Installing the reference server (npm ci)" >&2
      (cd "$root/tests/js" && timeout 300 npm ci --silent >&2)
    fi
    ;;
esac
command -v jq >/dev/null || { echo "jq is needed to build the tables" >&2; exit 1; }

max_clients=$LOAD_CLIENTS
for n in "$SAT_CLIENTS" "$IDLE_CLIENTS"; do [ "$n" -gt "$max_clients" ] && max_clients=$n; done
# One descriptor per client in tandem-load and one in the relay.
want_fds=$((max_clients + 1024))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want_fds" ]; then
  ulimit -n "$want_fds" 2>/dev/null || echo "warning: ulimit -n is $(ulimit -n), below $want_fds" >&2
fi

if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  tmp=$(mktemp -d "$OUT/run.XXXXXX")
  KEEP=1
else
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/tandem-bench-relay.XXXXXX")
fi
server_pid=""
server_port=""

stop_server() {
  [ -n "$server_pid" ] || return 0
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
cleanup() {
  stop_server
  if [ "$KEEP" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server SYSTEM DATA_DIR: start it in the background; sets server_pid and server_port.
start_server() {
  local system=$1 data=$2 out="$2.stdout" log="$2.log"
  mkdir -p "$data"
  : >"$out"
  case $system in
    tandem)
      env ${RELAY_LOG:+RUST_LOG="$RELAY_LOG"} "$server_bin" --open --listen 127.0.0.1:0 --data "$data" \
        --max-connections $((max_clients + 100)) ${HUB_THREADS:+--hub-threads "$HUB_THREADS"} \
        >"$out" 2>"$log" &
      ;;
    node)
      node "$node_server" --port 0 --data "$data" >"$out" 2>"$log" &
      ;;
  esac
  server_pid=$!
  server_port=""
  for _ in $(seq 1 150); do
    server_port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out" | head -1 || true)
    [ -n "$server_port" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "the $system server did not start; its log:" >&2
  cat "$log" >&2
  exit 1
}

# run_load NAME SYSTEM ARGS...: a fresh server, one tandem-load run, JSON to $tmp/NAME-SYSTEM.json.
run_load() {
  local name=$1 system=$2
  shift 2
  echo "## $name: $system" >&2
  start_server "$system" "$tmp/$name-$system-data"
  if ! timeout "$LIMIT" "$load_bin" --url "ws://127.0.0.1:$server_port" --server-pid "$server_pid" \
    --json "$@" >"$tmp/$name-$system.json" 2>"$tmp/$name-$system.stderr"; then
    echo "   tandem-load failed against $system:" >&2
    tail -5 "$tmp/$name-$system.stderr" >&2
    echo '{}' >"$tmp/$name-$system.json"
  fi
  sed 's/^/   /' "$tmp/$name-$system.stderr" >&2
  stop_server
}

# run_shared SYSTEM CLIENTS: a fresh server, one shared-document run with JS clients, JSON to
# $tmp/shared-CLIENTS-SYSTEM.json.
run_shared() {
  local system=$1 clients=$2 name="shared-$2"
  echo "## $name: $system" >&2
  start_server "$system" "$tmp/$name-$system-data"
  if ! timeout "$LIMIT" node "$root/tests/js/shared-load.mjs" --server "ws://127.0.0.1:$server_port" \
    --server-pid "$server_pid" --clients "$clients" --edits "$SHARED_EDITS" \
    --interval "$SHARED_INTERVAL" --clk-tck "$(getconf CLK_TCK)" \
    >"$tmp/$name-$system.json" 2>"$tmp/$name-$system.stderr"; then
    echo "   shared-load failed against $system:" >&2
    tail -5 "$tmp/$name-$system.stderr" >&2
    [ -s "$tmp/$name-$system.json" ] || echo '{}' >"$tmp/$name-$system.json"
  fi
  stop_server
}

# run_disk SYSTEM: the edit load while 2 GB files are written with fsync, one after another, on
# the same disk; the disk probe runs alone first, then beside the load. JSON to
# $tmp/disk-SYSTEM.json, $tmp/probe-quiet-SYSTEM.json, $tmp/probe-writer-SYSTEM.json and
# $tmp/probe-group-SYSTEM.json and $tmp/probe-overwrite-SYSTEM.json.
run_disk() {
  local system=$1 writer probe
  echo "## disk: $system" >&2
  start_server "$system" "$tmp/disk-$system-data"
  "$probe_bin" --dir "$tmp" --duration 5 --json >"$tmp/probe-quiet-$system.json" || echo '{}' >"$tmp/probe-quiet-$system.json"
  ( while :; do dd if=/dev/zero of="$tmp/writer" bs=1M count=2048 conv=fsync status=none; rm -f "$tmp/writer"; done ) &
  writer=$!
  "$probe_bin" --dir "$tmp" --duration "$DISK_DURATION" --json >"$tmp/probe-writer-$system.json" &
  probe=$!
  if ! timeout "$LIMIT" "$load_bin" --url "ws://127.0.0.1:$server_port" --server-pid "$server_pid" \
    --json --clients "$LOAD_CLIENTS" --pairs "$LOAD_PAIRS" --rate "$LOAD_RATE" --duration "$DISK_DURATION" \
    --warmup "$WARMUP" --drain "$DRAIN" >"$tmp/disk-$system.json" 2>"$tmp/disk-$system.stderr"; then
    echo "   tandem-load failed against $system:" >&2
    tail -5 "$tmp/disk-$system.stderr" >&2
    echo '{}' >"$tmp/disk-$system.json"
  fi
  wait "$probe" 2>/dev/null || true
  # The floor of a relay that flushes continuously on this disk: back-to-back durable writes,
  # with the writer still running and the relay idle.
  "$probe_bin" --dir "$tmp" --duration 20 --group-commit --json >"$tmp/probe-group-$system.json" || echo '{}' >"$tmp/probe-group-$system.json"
  # The same, writing in place over a file filled beforehand (no metadata for fdatasync).
  "$probe_bin" --dir "$tmp" --duration 20 --group-commit --overwrite --json >"$tmp/probe-overwrite-$system.json" || echo '{}' >"$tmp/probe-overwrite-$system.json"
  kill "$writer" 2>/dev/null || true
  pkill -f "of=$tmp/writer" 2>/dev/null || true
  wait "$writer" 2>/dev/null || true
  rm -f "$tmp/writer"
  sed 's/^/   /' "$tmp/disk-$system.stderr" >&2
  stop_server
}

# The cold initial sync: the relay restarted on the data of the warm run, then one fetch.
run_cold() {
  local system=$1 doc
  doc=$(jq -r '.doc_id // empty' "$tmp/initial-$system.json")
  [ -n "$doc" ] || { echo '{}' >"$tmp/cold-$system.json"; return; }
  echo "## initial (cold, after a restart): $system" >&2
  start_server "$system" "$tmp/initial-$system-data"
  if ! timeout "$LIMIT" "$load_bin" --url "ws://127.0.0.1:$server_port" --initial-sync \
    --doc-id "$doc" --repeat 1 --json >"$tmp/cold-$system.json" 2>"$tmp/cold-$system.stderr"; then
    tail -5 "$tmp/cold-$system.stderr" >&2
    echo '{}' >"$tmp/cold-$system.json"
  fi
  stop_server
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
started_at=$(date +%s)
for load in $LOADS; do
  for system in $SYSTEMS; do
    case $load in
      latency)
        run_load latency "$system" --clients 2 --pairs 1 --rate "$LAT_RATE" \
          --duration "$LAT_DURATION" --warmup "$WARMUP" --drain "$DRAIN" ;;
      history)
        run_load history "$system" --clients 2 --pairs 1 --history "$HIST_CHANGES" --rate "$HIST_RATE" \
          --duration "$HIST_DURATION" --warmup "$WARMUP" --drain "$DRAIN" ;;
      load)
        run_load load "$system" --clients "$LOAD_CLIENTS" --pairs "$LOAD_PAIRS" --rate "$LOAD_RATE" \
          --duration "$LOAD_DURATION" --warmup "$WARMUP" --drain "$DRAIN" ;;
      saturation)
        run_load saturation "$system" --clients "$SAT_CLIENTS" --pairs "$SAT_PAIRS" --rate "$SAT_RATES" \
          --duration "$SAT_DURATION" --warmup "$WARMUP" --drain "$DRAIN" \
          --stop-p99-ms "$SAT_STOP_P99_MS" --p99-limit-ms "$SAT_P99_MS" --min-growth "$SAT_GROWTH" ;;
      overload)
        run_load overload "$system" --clients "$SAT_CLIENTS" --pairs "$SAT_PAIRS" --rate "$OVER_RATES" \
          --duration "$OVER_DURATION" --warmup 0 --drain "$DRAIN" ;;
      disk) run_disk "$system" ;;
      idle)
        run_load idle "$system" --clients "$IDLE_CLIENTS" --pairs 0 --rate 0 \
          --duration "$IDLE_DURATION" --warmup 0 ;;
      initial)
        run_load initial "$system" --initial-sync --changes "$CHANGES" --repeat "$REPEAT"
        run_cold "$system" ;;
      shared)
        for clients in $SHARED_CLIENTS; do run_shared "$system" "$clients"; done ;;
      *) echo "unknown load $load" >&2; exit 2 ;;
    esac
  done
done

# ----- tables -----

systems=($SYSTEMS)
label() { case $1 in tandem) echo "tandem-server" ;; node) echo "Node reference" ;; *) echo "$1" ;; esac; }

header() {
  local h="| Measure |" s="|:---|"
  for sys in "${systems[@]}"; do h="$h $(label "$sys") |"; s="$s---:|"; done
  if [ "${#systems[@]}" = 2 ]; then h="$h ${systems[0]} ÷ ${systems[1]} |"; s="$s---:|"; fi
  echo "$h"
  echo "$s"
}

# row FILE_PREFIX LABEL JQ DECIMALS: one table row, the JQ value from each system's report.
row() {
  local prefix=$1 text=$2 expr=$3 digits=$4 line vals=()
  line="| $text |"
  for sys in "${systems[@]}"; do
    local v
    v=$(jq -r "($expr) // empty" "$tmp/$prefix-$sys.json" 2>/dev/null || true)
    vals+=("$v")
    if [ -z "$v" ]; then
      line="$line – |"
    else
      line="$line $(awk -v v="$v" -v d="$digits" 'BEGIN { printf("%." d "f", v) }') |"
    fi
  done
  if [ "${#systems[@]}" = 2 ]; then
    line="$line $(awk -v a="${vals[0]}" -v b="${vals[1]}" 'BEGIN {
      if (a == "" || b == "" || b + 0 == 0) print "–"; else printf("%.2f×", a / b) }') |"
  fi
  echo "$line"
}

have() { for sys in "${systems[@]}"; do [ -s "$tmp/$1-$sys.json" ] && return 0; done; return 1; }

echo
echo "### Machine"
echo
echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores; memory $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "- Kernel: $(uname -sr); node $(node --version 2>/dev/null || echo '–'); tandem-server at $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD -- sync-server/src core/src 2>/dev/null || echo ' + uncommitted changes')"
echo "- Load average (1, 5, 15 min) at the start: $load_start; at the end: $(cut -d' ' -f1-3 /proc/loadavg); the run took $(( $(date +%s) - started_at )) s"
echo "- tandem-load and the relay under test share the machine; each run starts a fresh relay with an empty data directory."

if have latency; then
  echo
  echo "### Latency: 2 clients, 1 pair, $LAT_RATE edits/s each, ${LAT_DURATION} s"
  echo
  header
  s='.steps[0]'
  row latency "edit→partner p50 (ms)" "$s.latency.p50_ms" 2
  row latency "edit→partner p90 (ms)" "$s.latency.p90_ms" 2
  row latency "edit→partner p99 (ms)" "$s.latency.p99_ms" 2
  row latency "edit→partner max (ms)" "$s.latency.max_ms" 2
  row latency "deliveries" "$s.deliveries" 0
  row latency "wire bytes per delivery (both directions, client side)" "$s.wire_bytes_per_delivery" 0
  row latency "relay CPU (% of a core)" "$s.relay_cpu_pct" 1
  row latency "other processes' CPU meanwhile (% of a core)" "$s.others_cpu_pct" 0
  row latency "relay RSS at the end (MiB)" ".memory.end.rss_kib / 1024" 1
fi

if have history; then
  echo
  echo "### Latency on a large document: 2 clients, 1 pair, a document of $HIST_CHANGES changes, $HIST_RATE edits/s each, ${HIST_DURATION} s"
  echo
  header
  s='.steps[0]'
  row history "edit→partner p50 (ms)" "$s.latency.p50_ms" 2
  row history "edit→partner p90 (ms)" "$s.latency.p90_ms" 2
  row history "edit→partner p99 (ms)" "$s.latency.p99_ms" 2
  row history "edit→partner max (ms)" "$s.latency.max_ms" 2
  row history "deliveries" "$s.deliveries" 0
  row history "relay CPU per delivery (µs)" "$s.relay_cpu_us_per_delivery" 0
  row history "other processes' CPU meanwhile (% of a core)" "$s.others_cpu_pct" 0
fi

if have load; then
  echo
  echo "### Load: $LOAD_CLIENTS clients, $LOAD_PAIRS pairs, $LOAD_RATE edit/s each, ${LOAD_DURATION} s"
  echo
  header
  s='.steps[0]'
  row load "connections set up per second (connect + join, 64 at a time)" ".setup.connections_per_sec" 0
  row load "connect + join p99 (ms)" ".setup.connect_latency.p99_ms" 1
  row load "edits sent per second" "$s.sent_per_sec" 0
  row load "edits delivered to partners per second" "$s.delivered_per_sec" 0
  row load "edit→partner p50 (ms)" "$s.latency.p50_ms" 2
  row load "edit→partner p99 (ms)" "$s.latency.p99_ms" 2
  row load "edit→partner max (ms)" "$s.latency.max_ms" 1
  row load "deliveries missing after the drain" "$s.latency.missing" 0
  row load "relay CPU (% of a core)" "$s.relay_cpu_pct" 1
  row load "relay CPU per delivery (µs)" "$s.relay_cpu_us_per_delivery" 0
  row load "relay's busiest thread (% of a core)" "$s.relay_sched.busiest_thread_cpu_pct" 1
  row load "relay threads waiting for a CPU (% of the window)" "$s.relay_sched.runqueue_wait_pct" 0
  row load "tandem-load CPU (% of a core)" "$s.generator_cpu_pct" 1
  row load "other processes' CPU meanwhile (% of a core)" "$s.others_cpu_pct" 0
  row load "wire bytes per delivery (both directions)" "$s.wire_bytes_per_delivery" 0
  row load "relay RSS, clients joined, no docs (MiB)" ".memory.idle.rss_kib / 1024" 1
  row load "relay RSS, every doc synced (MiB)" ".memory.synced.rss_kib / 1024" 1
  row load "relay RSS growth per client with its doc (KiB)" ".memory.synced_kib_per_connection" 1
  row load "relay peak RSS (MiB)" ".memory.peak_rss_kib / 1024" 1
  row load "connections lost" ".connections_lost" 0
  echo
  for sys in "${systems[@]}"; do
    busiest=$(jq -r '.steps[0].relay_sched.busiest_thread // empty' "$tmp/load-$sys.json" 2>/dev/null || true)
    [ -n "$busiest" ] && echo "$(label "$sys")'s busiest thread: \`$busiest\`."
  done
fi

if have saturation; then
  echo
  echo "### Saturation: $SAT_CLIENTS clients, $SAT_PAIRS pairs, rate per client stepped ($SAT_RATES), ${SAT_DURATION} s per step"
  echo
  line="| edits/s per client (offered total) |"
  sep="|:---|"
  for sys in "${systems[@]}"; do
    line="$line $(label "$sys"): delivered/s | p99 (ms) | relay CPU % | others' CPU % |"
    sep="$sep---:|---:|---:|---:|"
  done
  echo "$line"
  echo "$sep"
  for rate in ${SAT_RATES//,/ }; do
    line="| $rate ($(awk -v r="$rate" -v c="$SAT_CLIENTS" 'BEGIN { printf("%d", r * c) }')) |"
    any=0
    for sys in "${systems[@]}"; do
      cells=$(jq -r --argjson r "$rate" '[.steps[]? | select(.rate_per_client == $r)][0] //
        empty | "\(.delivered_per_sec | floor) | \(if .latency.p99_ms == null then "lost" else (.latency.p99_ms * 10 | round / 10) end) | \(.relay_cpu_pct // 0 | round) | \(.others_cpu_pct // 0 | round)"' \
        "$tmp/saturation-$sys.json" 2>/dev/null || true)
      if [ -n "$cells" ]; then any=1; line="$line $cells |"; else line="$line – | – | – | – |"; fi
    done
    [ "$any" = 1 ] && echo "$line"
  done
  echo
  header
  row saturation "max sustained deliveries/s (p99 ≤ $SAT_P99_MS ms, none lost)" ".max_sustained_delivered_per_sec" 0
  row saturation "… at edits/s per client" ".max_sustained_rate_per_client" 2
  row saturation "peak deliveries/s at any latency" ".peak_delivered_per_sec" 0
  row saturation "… at edits/s per client" ".peak_rate_per_client" 2
  row saturation "… with p99 (ms)" ".peak_p99_ms" 1
  for sys in "${systems[@]}"; do
    why=$(jq -r '.stopped_because // "ran every step"' "$tmp/saturation-$sys.json" 2>/dev/null || echo "?")
    echo
    echo "$(label "$sys") stopped: $why."
  done
fi

if have overload; then
  echo
  echo "### Overload: $SAT_CLIENTS clients, $SAT_PAIRS pairs, $OVER_RATES edits/s per client, ${OVER_DURATION} s each, no warm-up"
  echo
  echo "| system | edits/s per client | sent/s | delivered/s | p99 (ms) | missing after the drain | drain (s) | p99 of each second's edits (ms) | relay CPU % | others' CPU % |"
  echo "|:---|---:|---:|---:|---:|---:|---:|:---|---:|---:|"
  for sys in "${systems[@]}"; do
    jq -r --arg sys "$(label "$sys")" '.steps[]? | "| \($sys) | \(.rate_per_client) | \(.sent_per_sec | floor) | \(.delivered_per_sec | floor) | \(if .latency.p99_ms == null then "lost" else (.latency.p99_ms | round) end) | \(.latency.missing) | \(.drain_secs * 10 | round / 10) | \([.p99_ms_by_second[] | if . == null then "late" else (. | round | tostring) end] | join(" ")) | \(.relay_cpu_pct // 0 | round) | \(.others_cpu_pct // 0 | round) |"' \
      "$tmp/overload-$sys.json" 2>/dev/null || true
  done
  echo
  for sys in "${systems[@]}"; do
    # Peak: the saturation run's, when it ran, else the best step here. Recovery: the drain
    # after the busiest step, plus the seconds of the step after it until every later second's
    # p99 is within SAT_P99_MS.
    peak=$(jq -r '.peak_delivered_per_sec // empty' "$tmp/saturation-$sys.json" 2>/dev/null || true)
    jq -r --arg sys "$(label "$sys")" --arg peak "$peak" --argjson limit "$SAT_P99_MS" '
      (.steps // []) as $s | if ($s | length) < 2 then empty else
      ($s | to_entries | max_by(.value.rate_per_client)) as $busy |
      (if $peak == "" then ([$s[].delivered_per_sec] | max) else ($peak | tonumber) end) as $p |
      ($s[$busy.key + 1] // null) as $after |
      (if $after == null then null else
        ([$after.p99_ms_by_second | to_entries[] | select(.value == null or .value > $limit) | .key] | max // -1) + 1
      end) as $settle |
      "\($sys): at \($busy.value.rate_per_client) edits/s per client it delivered \($busy.value.delivered_per_sec | floor)/s, \(100 * $busy.value.delivered_per_sec / $p | round)% of the peak \($p | floor)/s, with p99 \(if $busy.value.latency.p99_ms == null then "lost" else "\($busy.value.latency.p99_ms | round) ms" end); after it, the backlog drained in \($busy.value.drain_secs * 10 | round / 10) s and latency was back within \($limit) ms \(if $settle == null then "(no later step)" else "after \($settle) s of the next step" end)."
      end' "$tmp/overload-$sys.json" 2>/dev/null || true
  done
fi

if have disk; then
  echo
  echo "### Disk: $LOAD_CLIENTS clients, $LOAD_PAIRS pairs, $LOAD_RATE edit/s each, ${DISK_DURATION} s, while 2 GB files are written with fsync to the same disk"
  echo
  header
  s='.steps[0]'
  row disk "edits delivered to partners per second" "$s.delivered_per_sec" 0
  row disk "edit→partner p50 (ms)" "$s.latency.p50_ms" 2
  row disk "edit→partner p99 (ms)" "$s.latency.p99_ms" 2
  row disk "edit→partner max (ms)" "$s.latency.max_ms" 1
  row disk "deliveries missing after the drain" "$s.latency.missing" 0
  row probe-quiet "a bare 256 B write + fdatasync, disk quiet: p50 (ms)" ".p50_ms" 2
  row probe-quiet "… p99 (ms)" ".p99_ms" 2
  row probe-writer "the same during the writer: p50 (ms)" ".p50_ms" 2
  row probe-writer "… p99 (ms)" ".p99_ms" 2
  row probe-writer "… max (ms)" ".max_ms" 1
  row probe-group "back-to-back during the writer, a change arriving at a random moment waits: p50 (ms)" ".arrival_p50_ms" 2
  row probe-group "… p99 (ms)" ".arrival_p99_ms" 2
  row probe-group "… max (ms)" ".arrival_max_ms" 1
  row probe-overwrite "the same, writing in place over a filled file: p50 (ms)" ".arrival_p50_ms" 2
  row probe-overwrite "… p99 (ms)" ".arrival_p99_ms" 2
  row probe-overwrite "… max (ms)" ".arrival_max_ms" 1
fi

if have idle; then
  echo
  echo "### Idle connections: $IDLE_CLIENTS clients joined, no documents"
  echo
  header
  row idle "connections set up per second" ".setup.connections_per_sec" 0
  row idle "relay RSS before (MiB)" ".memory.before.rss_kib / 1024" 1
  row idle "relay RSS with the idle clients (MiB)" ".memory.idle.rss_kib / 1024" 1
  row idle "relay memory per idle connection (KiB)" ".memory.idle_kib_per_connection" 1
  row idle "relay RSS after ${IDLE_DURATION} s idle (MiB)" ".memory.end.rss_kib / 1024" 1
fi

if have initial; then
  echo
  echo "### Initial sync: a new device receives a workspace of $CHANGES changes"
  echo
  header
  row initial "changes" ".changes" 0
  row initial "compacted \`save()\` (bytes): the floor" ".save_bytes" 0
  row initial "bytes received by the new device (median of $REPEAT, warm)" ".median_bytes_received" 0
  row initial "… ÷ compacted save" ".median_bytes_ratio" 3
  row initial "time to receive, warm (ms, median of $REPEAT)" ".median_download_ms" 1
  row cold "time to receive, cold: relay restarted (ms)" ".median_download_ms" 1
  row cold "bytes received, cold" ".median_bytes_received" 0
  row initial "upload by the first device (ms)" ".upload.total_ms" 1
  row initial "upload bytes sent" ".upload.bytes_sent" 0
fi

for clients in $SHARED_CLIENTS; do
  have "shared-$clients" || continue
  echo
  echo "### Shared document: $clients automerge-repo JS clients, $SHARED_EDITS edits each, $SHARED_INTERVAL ms apart"
  echo
  header
  p="shared-$clients"
  row "$p" "frames clients → relay" ".frames_to_server" 0
  row "$p" "frames relay → clients" ".frames_from_server" 0
  row "$p" "frames per delivered edit (both directions)" ".frames_per_delivery" 2
  row "$p" "deliveries seen (of $(( clients * (clients - 1) * SHARED_EDITS )))" ".deliveries" 0
  row "$p" "edit→other clients p50 (ms)" ".latency_ms.p50" 1
  row "$p" "edit→other clients p99 (ms)" ".latency_ms.p99" 1
  row "$p" "edit→other clients max (ms)" ".latency_ms.max" 1
  row "$p" "… of which the editing client held the change: p50 (ms)" ".client_hold_ms.p50" 1
  row "$p" "… held by the editing client: p99 (ms)" ".client_hold_ms.p99" 1
  row "$p" "change left its client→other clients p50 (ms)" ".after_leaving_ms.p50" 1
  row "$p" "change left its client→other clients p99 (ms)" ".after_leaving_ms.p99" 1
  row "$p" "delivered edits per second" ".delivered_per_sec" 0
  row "$p" "relay CPU (% of a core)" ".server_cpu_pct" 1
  row "$p" "relay CPU per delivered edit (µs)" ".server_cpu_us_per_delivery" 0
done
