#!/usr/bin/env bash
# The expert host's cost per frame: `warden run -e protdist` (open, index, one GetFrame with the
# protocol stack per frame through the C ABI, the expert's tally, the report) against the bare
# read + decode loop of bench/capture_read on the same >= 500 MB loopback recording that
# bench/capture_bench.sh makes. REPS runs each (default 5), medians and the ratio printed.
# Usage: bench/expert_bench.sh [REPS]   (run bench/capture_bench.sh once first for the recording)
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-5}"
capture=build/bench-data/loopback-http.pcap
[[ -s "$capture" ]] || { echo "no $capture: run bench/capture_bench.sh first"; exit 1; }
cmake --preset release >/dev/null && cmake --build --preset release --target warden capture_read >/dev/null
cat "$capture" > /dev/null
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
time_cmd() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
frames=$(build/release/bench/capture_read warden "$capture" | sed -E 's/.*frames=([0-9]+).*/\1/')
r=$(for i in $(seq "$reps"); do time_cmd build/release/tools/warden/warden run "$capture" -e protdist --csv; done | median)
d=$(for i in $(seq "$reps"); do time_cmd build/release/bench/capture_read warden "$capture"; done | median)
printf "median seconds over %s frames: warden run -e protdist %.3f, read+decode loop %.3f\n" "$frames" "$r" "$d"
printf "host + expert cost %.0f ns a frame above the bare loop (%.2fx its time)\n" \
  "$(echo "($r - $d) * 1000000000 / $frames" | bc -l)" "$(echo "$r / $d" | bc -l)"
