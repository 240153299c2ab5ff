#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for SECONDS (default 60) on a
# copy of its committed seed corpus, then prints executions and findings per target.
# Not part of the test suite: run it by hand, and commit new seeds that found bugs.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
bash scripts/setup.sh >/dev/null
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
findings=build/fuzz-findings
mkdir -p "$findings"
status=0
for target in pcap pcapng netmon decode display_filter pdu_framer idl ndr; do
  mkdir -p "$work/$target"
  cp fuzz/corpus/"$target"/* "$work/$target/"
  log="$work/$target.log"
  if build/fuzz/fuzz/fuzz_"$target" "$work/$target" -max_total_time="$seconds" -timeout=10 \
      -print_final_stats=1 \
      -rss_limit_mb=2048 -artifact_prefix="$findings/$target-" >"$log" 2>&1; then
    result="no findings"
  else
    result="FINDING: $(ls -t "$findings/$target"-* 2>/dev/null | head -1) (log above)"
    status=1
    tail -30 "$log"
  fi
  execs=$(grep -Eo 'number_of_executed_units: [0-9]+' "$log" | awk '{print $2}' || true)
  echo "fuzz_$target: ${execs:-?} executions in ${seconds}s, $(ls "$work/$target" | wc -l) corpus files, $result"
done
exit $status
