# shellcheck shell=bash
# Sourced by the bench scripts that run a Google Benchmark binary.
# google_bench TARGET REPS: builds TARGET with the release preset, runs it with REPS repetitions
# (aggregates only) and leaves its JSON report in $bench_json, removed when the script exits.
google_bench() {
  local target=$1 reps=$2
  cmake --preset release >/dev/null && cmake --build --preset release --target "$target" >/dev/null
  bench_json=$(mktemp)
  trap 'rm -f "$bench_json"' EXIT
  "build/release/bench/$target" --benchmark_repetitions="$reps" \
    --benchmark_report_aggregates_only --benchmark_format=json --benchmark_out="$bench_json" \
    --benchmark_out_format=json >/dev/null
}
