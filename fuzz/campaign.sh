#!/usr/bin/env bash
# A fuzzing campaign: every target in turn for SECONDS each (default 600),
# then one line per target: executions, executions per second, coverage
# and crashes.
#
#   fuzz/campaign.sh [SECONDS [TARGET...]]
#
# With TARGETs, only those run (cargo-fuzz target names, or
# go_conv_roundtrip for the Go one), e.g. to rerun one after a fix.
#
# The cargo-fuzz targets run with `cargo +nightly fuzz run <target>` (one
# job, libFuzzer's corpus in fuzz/corpus/<target>, crash inputs in
# fuzz/artifacts/<target>/); coverage is libFuzzer's `cov:` (edges) at the
# end. The Go converters' target runs with `go test -fuzz` in fuzz/go/conv
# (one worker; its crash inputs land in fuzz/go/conv/testdata/fuzz/, where
# plain `go test` replays them); Go prints no edge count, so its coverage
# column is the size of its corpus ("corpus N").
#
# A target that crashes stops at its first crash (libFuzzer and Go both do)
# and the campaign goes on with the next one; the script exits 1 if any
# target crashed or failed. Needs a nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz`), and Go. Logs: fuzz/campaign-logs/.
set -euo pipefail

seconds=${1:-600}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS [TARGET...]]" >&2; exit 2; }
shift $(($# > 0 ? 1 : 0))
cd "$(dirname "$0")"
fuzz_dir=$(pwd)
logs=$fuzz_dir/campaign-logs
mkdir -p "$logs"

targets=(proto2wit component_linker component_linker_bytes manifest request_codec deployment)
go_target=go_conv_roundtrip
run_go=1
if (($# > 0)); then
  selected=("$@")
  targets=()
  run_go=0
  for t in "${selected[@]}"; do
    if [[ $t == "$go_target" ]]; then run_go=1; else targets+=("$t"); fi
  done
fi

# libFuzzer options per target. The linker target's inputs touch tens of
# thousands of edges (wasmparser, wit-component); libFuzzer's entropic
# scheduler then spends ~70% of the time on its rare-feature bookkeeping
# (perf: AddRareFeature, the feature callback of RunOne), so it runs with
# the classic scheduler: ~4x the executions.
declare -A options=([component_linker]="-entropic=0")

# Count of crash inputs (libFuzzer's crash-/oom-/timeout-/leak- files) in a dir.
count_crashes() {
  { find "$1" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) 2>/dev/null || true; } | wc -l
}

if ((${#targets[@]} > 0)); then
  echo "== building the cargo-fuzz targets"
  cargo +nightly fuzz build >"$logs/build.log" 2>&1 || { echo "build failed, see $logs/build.log" >&2; exit 1; }
fi

rows=()
failed=0
for t in "${targets[@]+"${targets[@]}"}"; do
  echo "== $t: ${seconds}s"
  artifacts=$fuzz_dir/artifacts/$t
  mkdir -p "$artifacts" "$fuzz_dir/corpus/$t"
  before=$(count_crashes "$artifacts")
  log=$logs/$t.log
  status=ok
  # shellcheck disable=SC2086 # options are words
  cargo +nightly fuzz run "$t" -- -max_total_time="$seconds" -timeout=60 -print_final_stats=1 ${options[$t]:-} >"$log" 2>&1 || status=failed
  after=$(count_crashes "$artifacts")
  crashes=$((after - before))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
  if [[ $status == failed && $crashes -eq 0 ]]; then
    crashes="failed (see $log)"
  fi
  [[ $status == ok ]] || failed=1
  if [[ $crashes != 0 ]]; then
    echo "   $t crashed: new inputs in $artifacts (log $log)"
    failed=1
  fi
  rows+=("$(printf '%-24s %8s %12s %8s %8s  %s' "$t" "$seconds" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$crashes")")
done

# The Go converters: bytes -> protobuf-go message -> WIT value -> back.
if ((run_go)); then
  t=$go_target
  echo "== $t: ${seconds}s"
  go_dir=$fuzz_dir/go/conv
  crash_dir=$go_dir/testdata/fuzz/FuzzRoundTrip
  before=$({ find "$crash_dir" -type f 2>/dev/null || true; } | wc -l)
  log=$logs/$t.log
  status=ok
  (cd "$go_dir" && go test -run '^$' -fuzz='^FuzzRoundTrip$' -fuzztime="${seconds}s" -parallel=1 .) >"$log" 2>&1 || status=failed
  after=$({ find "$crash_dir" -type f 2>/dev/null || true; } | wc -l)
  crashes=$((after - before))
  last=$(grep 'fuzz: elapsed:' "$log" | tail -1 || true)
  execs=$(sed -n 's/.*execs: \([0-9]*\).*/\1/p' <<<"$last")
  # Go prints the elapsed time as a duration: 59s, 10m1s, 1h0m0s.
  elapsed=$(sed -n 's/.*elapsed: \([0-9hms]*\),.*/\1/p' <<<"$last" |
    awk '{ t = 0; n = ""; for (i = 1; i <= length($0); i++) { c = substr($0, i, 1);
      if (c ~ /[0-9]/) n = n c; else { t += n * (c == "h" ? 3600 : c == "m" ? 60 : 1); n = "" } } print t }')
  corpus=$(sed -n 's/.*(total: \([0-9]*\)).*/\1/p' <<<"$last")
  rate=?
  if [[ -n $execs && -n $elapsed && $elapsed -gt 0 ]]; then rate=$((execs / elapsed)); fi
  if [[ $status == failed && $crashes -eq 0 ]]; then crashes="failed (see $log)"; fi
  [[ $status == ok ]] || failed=1
  if [[ $crashes != 0 ]]; then
    echo "   $t crashed: new inputs in $crash_dir (log $log)"
    failed=1
  fi
  rows+=("$(printf '%-24s %8s %12s %8s %8s  %s' "$t" "$seconds" "${execs:-?}" "$rate" "corpus ${corpus:-?}" "$crashes")")
fi

echo
printf '%-24s %8s %12s %8s %8s  %s\n' target seconds executions exec/s cov crashes
printf '%s\n' "${rows[@]}"
exit "$failed"
