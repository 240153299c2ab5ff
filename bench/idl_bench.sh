#!/usr/bin/env bash
# `warden idl --header` over the whole shared IDL corpus, and against widl (Debian wine64-tools,
# `widl-stable -h`) on the files both accept, in one run on the same machine. Each tool runs once
# per file per repetition as users run it (a process per file), so process start-up counts; the
# in-process time warden reports is shown too.
# Usage: bench/idl_bench.sh [REPS]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-20}"
corpus=../shared/idl
[[ -d $corpus ]] || { echo "no $corpus: nothing to measure"; exit 0; }
cmake --preset release >/dev/null && cmake --build --preset release --target warden >/dev/null
warden=$PWD/build/release/tools/warden/warden
widl=$(command -v widl-stable || command -v widl || true)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
files=("$corpus"/*.idl)
now() { date +%s.%N; }

# The whole corpus with warden.
start=$(now)
for _ in $(seq "$reps"); do
  for f in "${files[@]}"; do
    "$warden" idl "$f" -I "$corpus" -I "$corpus/h" -o "$out/w" --header >/dev/null 2>&1 || true
  done
done
whole=$(echo "($(now) - $start) / $reps" | bc -l)
inproc=$(for f in "${files[@]}"; do
  "$warden" idl "$f" -I "$corpus" -I "$corpus/h" 2>/dev/null | sed -n 's/.*(\([0-9.]*\) ms)$/\1/p'
done | awk '{s+=$1} END {print s}')
printf "warden idl --header, %d corpus files: %.3f s per pass (in-process work %.1f ms)\n" \
  "${#files[@]}" "$whole" "$inproc"

[[ -n $widl ]] || { echo "widl not installed (apt-get install wine64-tools): no comparison"; exit 0; }
both=()
for f in "${files[@]}"; do
  if "$widl" -I "$corpus" -I "$corpus/h" -h -o "$out/probe.h" "$f" >/dev/null 2>&1; then both+=("$f"); fi
done
echo "widl accepts ${#both[@]} of ${#files[@]} files: $(for f in "${both[@]}"; do basename "$f"; done | tr '\n' ' ')"
time_tool() {
  local start
  start=$(now)
  for _ in $(seq "$reps"); do
    for f in "${both[@]}"; do "$@" "$f" >/dev/null 2>&1 || true; done
  done
  echo "($(now) - $start) / $reps" | bc -l
}
w=$(time_tool "$warden" idl -I "$corpus" -I "$corpus/h" -o "$out/w" --header)
v=$(time_tool "$widl" -I "$corpus" -I "$corpus/h" -h -o "$out/v.h")
printf "on those files: warden %.1f ms, widl %.1f ms per pass: warden takes %.2fx widl's time\n" \
  "$(echo "$w * 1000" | bc -l)" "$(echo "$v * 1000" | bc -l)" "$(echo "$w / $v" | bc -l)"
