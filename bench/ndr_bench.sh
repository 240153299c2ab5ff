#!/usr/bin/env bash
# NDR marshal + unmarshal against protobuf (same binary, same run) and impacket (10k-node tree):
# medians of REPS repetitions and the ratios the NDR issue sets goals for (at least as fast as
# protobuf, at least 100x faster than impacket).
# Usage: bench/ndr_bench.sh [REPS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-5}"
# shellcheck source=bench/common.sh
. bench/common.sh
google_bench ndr_bench "$reps"
impacket_ms=$(/usr/bin/python3 bench/ndr_impacket.py 10000 3)
/usr/bin/python3 - "$bench_json" "$impacket_ms" <<'PY'
import json, sys
rows = {b["run_name"]: b["real_time"] for b in json.load(open(sys.argv[1]))["benchmarks"]
        if b.get("aggregate_name") == "median"}
impacket = float(sys.argv[2])
def ms(name): return rows[name]
print(f"{'case':32} {'warden ms':>10} {'peer ms':>10} {'peer/warden':>12}")
for case, mine, peer in [
    ("tree 10k vs protobuf (arena)", "BM_WardenTree/10000", "BM_ProtobufTree/10000"),
    ("tree 10k vs protobuf (heap)", "BM_WardenTree/10000", "BM_ProtobufTreeNoArena/10000"),
    ("tree 1M vs protobuf (arena)", "BM_WardenTree/1048576", "BM_ProtobufTree/1048576"),
    ("tree 1M vs protobuf (heap)", "BM_WardenTree/1048576", "BM_ProtobufTreeNoArena/1048576"),
    ("10 MB array vs protobuf bytes", "BM_WardenBytes/10485760", "BM_ProtobufBytes/10485760"),
]:
    print(f"{case:32} {ms(mine):10.3f} {ms(peer):10.3f} {ms(peer) / ms(mine):11.2f}x")
w = ms("BM_WardenTree/10000")
print(f"{'tree 10k vs impacket':32} {w:10.3f} {impacket:10.3f} {impacket / w:11.0f}x")
PY
