#!/usr/bin/env bash
# DCE/RPC round trips over loopback TCP: Warden's generated stubs and runtime against a raw TCP
# ping-pong of the same bytes and a gRPC unary call, in one binary and run, with 1 and 8 client
# threads. Prints medians of REPS repetitions and the ratios the DCE/RPC issue sets goals for
# (latency within 1.3x of the raw ping-pong, at least 3x faster than gRPC).
# Usage: bench/rpc_bench.sh [REPS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-5}"
# shellcheck source=bench/common.sh
. bench/common.sh
google_bench rpc_bench "$reps"
/usr/bin/python3 - "$bench_json" <<'PY'
import json, sys
rows = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("aggregate_name") == "median":
        name = b["run_name"].split("/")[0][3:]
        threads = b["threads"]
        rows[(name, threads)] = (b["real_time"] / 1000, b["items_per_second"])
print(f"{'threads':>7} {'warden us':>10} {'raw us':>8} {'grpc us':>8} {'warden/raw':>11} "
      f"{'grpc/warden':>12} {'warden calls/s':>15}")
for t in (1, 8):
    w, r, g = rows[("Warden", t)], rows[("RawPingPong", t)], rows[("Grpc", t)]
    print(f"{t:7} {w[0]:10.1f} {r[0]:8.1f} {g[0]:8.1f} {w[0] / r[0]:10.2f}x {g[0] / w[0]:11.2f}x "
          f"{w[1]:15.0f}")
PY
