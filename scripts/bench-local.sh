#!/usr/bin/env bash
# Whole-process timings of local `tandem` commands on a large workspace (BENCHMARKS.md, "Local
# commands": `tandem goal add` and `tandem plan` on 10,000 items and 1 MB of notes).
#
#   scripts/bench-local.sh                 # build, generate, measure, print a markdown table
#   ITEMS=2000 NOTES_BYTES=200000 scripts/bench-local.sh
#   SCALING=1 scripts/bench-local.sh       # also time `goal add` on smaller/larger workspaces
#
# Settings (environment): ITEMS (10000), NOTES_BYTES (1000000), SEED (42), WRITE_RUNS (20),
# READ_RUNS (5), WARMUP (1), LIMIT (900: seconds allowed per measured command), SCALING (0),
# PHASES (1: also time each phase in-process with `tandem-gen --phases`), KEEP (0: keep the
# temporary home and print its path).
#
# Uses hyperfine when present (installs it with apt-get if it can), otherwise a plain loop timed
# with `date +%s%N`. Each measured command is a fresh `tandem` process on the generated home,
# pointed at with TANDEM_HOME; TANDEM_NOW pins "today" to the generation instant so overdue
# actions stay overdue. Output goes to /dev/null (hyperfine discards it).
set -euo pipefail

ITEMS=${ITEMS:-10000}
NOTES_BYTES=${NOTES_BYTES:-1000000}
SEED=${SEED:-42}
WRITE_RUNS=${WRITE_RUNS:-20}
READ_RUNS=${READ_RUNS:-5}
WARMUP=${WARMUP:-1}
LIMIT=${LIMIT:-900}
SCALING=${SCALING:-0}
PHASES=${PHASES:-1}
KEEP=${KEEP:-0}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

echo "## Building (release)" >&2
cargo build --release -q -p tandem -p tandem-tests >&2
target_dir=$(cargo metadata --format-version 1 --no-deps 2>/dev/null | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
target_dir=${target_dir:-$root/target}
tandem="$target_dir/release/tandem"
gen="$target_dir/release/tandem-gen"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tandem-bench.XXXXXX")
cleanup() {
  if [ "$KEEP" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

if ! command -v hyperfine >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "## Installing hyperfine" >&2
    timeout 300 apt-get install -y -qq hyperfine >/dev/null 2>&1 \
      || echo "(hyperfine could not be installed; falling back to a timed loop)" >&2
  fi
fi
have_hyperfine=0
command -v hyperfine >/dev/null 2>&1 && have_hyperfine=1

now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
home="$tmp/home"
echo "## Generating $ITEMS items and $NOTES_BYTES bytes of notes (seed $SEED)" >&2
timeout "$LIMIT" "$gen" --home "$home" --items "$ITEMS" --notes-bytes "$NOTES_BYTES" \
  --seed "$SEED" --now "$now" --json >"$tmp/gen.json"

export TANDEM_HOME="$home" TANDEM_NOW="$now" NO_COLOR=1

# Rows of the final table, in the order measured.
rows="$tmp/rows.md"
: >"$rows"

# measure NAME RUNS COMMAND... : one table row for COMMAND run RUNS times.
measure() {
  local name=$1 runs=$2
  shift 2
  echo "## $name ($runs runs)" >&2
  if [ "$have_hyperfine" = 1 ]; then
    # hyperfine splits the command line itself (-N: no shell, so no shell start-up is timed).
    local cmdline
    cmdline=$(printf '%q ' "$@")
    timeout "$LIMIT" hyperfine -N --style basic --warmup "$WARMUP" --runs "$runs" \
      --time-unit millisecond --command-name "$name" \
      --export-markdown "$tmp/one.md" "$cmdline" >&2
    tail -n +3 "$tmp/one.md" | sed 's/ | [^|]* |$/ |/' >>"$rows"
  else
    local i start end
    : >"$tmp/times"
    for ((i = 0; i < WARMUP; i++)); do "$@" >/dev/null; done
    for ((i = 0; i < runs; i++)); do
      start=$(date +%s%N)
      timeout "$LIMIT" "$@" >/dev/null
      end=$(date +%s%N)
      echo $(((end - start) / 1000)) >>"$tmp/times"
    done
    awk -v name="$name" '{ t = $1 / 1000; s += t; q += t * t; if (NR == 1 || t < lo) lo = t; if (t > hi) hi = t }
      END { m = s / NR; sd = (NR > 1) ? sqrt((q - NR * m * m) / (NR - 1)) : 0;
            printf "| `%s` | %.1f ± %.1f | %.1f | %.1f |\n", name, m, sd, lo, hi }' "$tmp/times" >>"$rows"
  fi
}

chunks() { "$gen" --home "$1" --stats | sed -n 's/^doc [^:]*: \([0-9]*\) chunk.*/\1/p' | head -1; }

chunks_before=$(chunks "$home")
bytes_before=$(du -sb "$home" | cut -f1)

measure "tandem --version" "$READ_RUNS" "$tandem" --version
measure "tandem workspaces" "$READ_RUNS" "$tandem" workspaces
measure "tandem plan" "$READ_RUNS" "$tandem" plan
measure "tandem goal list --json" "$READ_RUNS" "$tandem" goal list --json
measure "tandem goal add \"bench goal\"" "$WRITE_RUNS" "$tandem" goal add "bench goal"

chunks_after=$(chunks "$home")
bytes_after=$(du -sb "$home" | cut -f1)

if [ "$PHASES" = 1 ]; then
  echo "## Phases, in-process" >&2
  timeout "$LIMIT" "$gen" --home "$home" --phases >"$tmp/phases.md"
fi

if [ "$SCALING" = 1 ]; then
  # How `goal add` scales with the document: fewer items, no notes, twice the items.
  for spec in "1000 100000" "10000 0" "20000 2000000"; do
    set -- $spec
    h="$tmp/home-$1-$2"
    "$gen" --home "$h" --items "$1" --notes-bytes "$2" --seed "$SEED" --now "$now" --json >"$tmp/gen-$1-$2.json"
    size=$(jq -r .doc_bytes "$tmp/gen-$1-$2.json" 2>/dev/null || echo "?")
    TANDEM_HOME="$h" measure "goal add: $1 items, $2 B notes, doc $size B" "$READ_RUNS" "$tandem" goal add "bench goal"
    rm -rf "$h"
  done
fi

field() { sed -n "s/^ *\"$1\": *\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$tmp/gen.json" | head -1; }

echo
echo "### Machine"
echo
echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
echo "- Memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "- Kernel: $(uname -sr); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- Timer: $([ "$have_hyperfine" = 1 ] && hyperfine --version || echo 'bash loop, date +%s%N')"
echo
echo "### Workspace"
echo
echo "- $(field items) items, $(field changes) changes, $(field note_body_bytes) bytes of note bodies ($(field text_bytes) bytes of text in all), seed $SEED"
echo "- document \`save()\`: $(field doc_bytes) bytes; generated in $(printf '%.1f' "$(field elapsed_secs)") s"
echo "- home directory: $bytes_before bytes, $chunks_before chunk(s) before the runs; $bytes_after bytes, $chunks_after chunk(s) after"
echo
echo "### Timings (ms, whole process)"
echo
echo "| Command | Mean ± σ | Min | Max |"
echo "|:---|---:|---:|---:|"
cat "$rows"
if [ -s "$tmp/phases.md" ]; then
  echo
  echo "### Where the time goes (in-process, same workspace)"
  echo
  cat "$tmp/phases.md"
fi
