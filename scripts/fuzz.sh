#!/usr/bin/env bash
# Fuzz tandem's hostile-input surfaces with cargo-fuzz (libFuzzer + AddressSanitizer).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS (default 60) bounds each target's run; TARGET defaults to every target:
#   protocol_decode  the automerge-repo protocol codec on arbitrary bytes, and encode→decode identity
#   relay_messages   the relay engine fed joins and arbitrary or damaged messages by 1–3 peers
#   bundle_import    Bundle::decode and Home::import_bundle on arbitrary and damaged bundles
#
# First, every saved crasher under fuzz/regressions/TARGET/ is replayed (each must now pass),
# then the target is fuzzed with its corpus in fuzz/corpus/TARGET (not committed) and the seeds
# in fuzz/seeds/TARGET. A crash stops the run and leaves the input in fuzz/artifacts/TARGET/:
# replay it with `cargo fuzz run TARGET FILE` (inside fuzz/), copy it to fuzz/regressions/TARGET/,
# and add a regression test beside the code it concerns that asserts an error, not a panic.
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`) and a C++ compiler (libFuzzer is built
# from source). cargo-fuzz passes -Z flags to rustc, so it needs a nightly compiler: this script
# uses the `nightly` toolchain when rustup has one, and otherwise the stable one with
# RUSTC_BOOTSTRAP=1 (which lets stable accept -Z flags; fine for a fuzzing build, never for a
# release). Builds are optimised, with debug assertions and overflow checks in tandem-core only
# (see fuzz/Cargo.toml); FUZZ_FLAGS adds cargo-fuzz options, e.g. FUZZ_FLAGS="--sanitizer none".
set -euo pipefail

seconds="${1:-60}"
if [[ $# -gt 0 ]]; then shift; fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(protocol_decode relay_messages bundle_import)
fi
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is not installed: run \`cargo install cargo-fuzz --locked\`" >&2
  exit 1
fi

toolchain=()
if rustup run nightly rustc --version >/dev/null 2>&1; then
  toolchain=(+nightly)
  echo "toolchain: $(rustup run nightly rustc --version)"
else
  export RUSTC_BOOTSTRAP=1
  echo "toolchain: $(rustc --version) with RUSTC_BOOTSTRAP=1 (no nightly installed)"
fi

# -O: optimised without global debug assertions (automerge's own are very slow); fuzz/Cargo.toml
# turns debug assertions and overflow checks back on for tandem-core.
read -r -a extra <<<"${FUZZ_FLAGS:-}"
flags=(-O "${extra[@]}")

summary=()
status=0
for target in "${targets[@]}"; do
  echo "=== $target: building"
  cargo "${toolchain[@]}" fuzz build "${flags[@]}" "$target"
  mkdir -p "corpus/$target" "artifacts/$target"

  shopt -s nullglob
  saved=("regressions/$target"/*)
  shopt -u nullglob
  if [[ ${#saved[@]} -gt 0 ]]; then
    echo "=== $target: replaying ${#saved[@]} saved crasher(s)"
    if ! cargo "${toolchain[@]}" fuzz run "${flags[@]}" "$target" "${saved[@]}" -- -runs=1 \
      >"artifacts/$target/regressions.log" 2>&1; then
      echo "a saved crasher of $target fails again; see fuzz/artifacts/$target/regressions.log" >&2
      tail -n 30 "artifacts/$target/regressions.log" >&2
      status=1
      summary+=("$target: a saved crasher fails again")
      continue
    fi
  fi

  args=(-max_total_time="$seconds" -rss_limit_mb=4096 -timeout=30 -print_final_stats=1)
  if [[ -f "dicts/$target.dict" ]]; then
    args+=(-dict="dicts/$target.dict")
  fi
  dirs=("corpus/$target")
  if [[ -d "seeds/$target" ]]; then
    dirs+=("seeds/$target")
  fi
  echo "=== $target: fuzzing for ${seconds}s"
  log="artifacts/$target/last-run.log"
  if cargo "${toolchain[@]}" fuzz run "${flags[@]}" "$target" "${dirs[@]}" -- "${args[@]}" 2>&1 | tee "$log" | grep -E '^(INFO: Seed|Done |==[0-9]+==|SUMMARY|panic|a panic)'; then
    :
  fi
  if grep -q '^Done ' "$log"; then
    summary+=("$target: $(grep '^Done ' "$log" | tail -n 1)")
  else
    status=1
    summary+=("$target: CRASHED, input in fuzz/artifacts/$target/ (log: fuzz/$log)")
  fi
done

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
exit "$status"
