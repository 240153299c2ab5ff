#!/usr/bin/env bash
# Read + decode benchmark on a real loopback recording of at least 500 MB:
#   warden (mmap, index, decode every frame) vs a libpcap pcap_next_ex loop vs
#   tshark -T fields -e frame.len. warden and libpcap run REPS times (default 5), tshark once;
#   medians and ratios printed.
# The recording is made once (inside a private network namespace: HTTP downloads with curl from
# several source addresses, offloads off so frames are real 1500-byte ones) and kept under
# build/bench-data/. Usage: bench/capture_bench.sh [REPS]
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-5}"
data=build/bench-data
capture="$data/loopback-http.pcap"
mkdir -p "$data"
if [[ ! -s "$capture" ]]; then
  echo "recording $capture (about 600 MB of HTTP over loopback)..."
  head -c 100000000 /dev/urandom > "$data/file.bin"
  unshare -n bash -c '
    set -e
    ip link set lo up mtu 1500
    ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
    ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || true
    cd "'"$data"'"
    timeout 300 python3 -m http.server 8000 --bind 127.0.0.1 >/dev/null 2>&1 &
    server=$!
    timeout 300 tcpdump --immediate-mode -i lo -s 0 -w loopback-http.pcap "tcp port 8000" 2>/dev/null &
    dump=$!
    sleep 1
    for src in 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 127.0.0.6 127.0.0.7; do
      curl -s --interface "$src" -o /dev/null http://127.0.0.1:8000/file.bin
    done
    sleep 1
    kill $dump $server; wait $dump 2>/dev/null || true
  '
  rm -f "$data/file.bin"
fi
size=$(stat -c %s "$capture")
echo "capture: $capture, $((size / 1000000)) MB, $(capinfos -c -M "$capture" 2>/dev/null | awk -F: '/Number of packets/ {print $2}' | tr -d ' ') frames"
cmake --preset release >/dev/null && cmake --build --preset release --target capture_read >/dev/null
bin=build/release/bench/capture_read
cat "$capture" > /dev/null  # page cache warm for everyone

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
time_cmd() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }

w=$(for i in $(seq "$reps"); do "$bin" warden "$capture" | sed -E 's/.*seconds=//'; done | median)
l=$(for i in $(seq "$reps"); do "$bin" libpcap "$capture" | sed -E 's/.*seconds=//'; done | median)
# tshark needs minutes for this file (it reassembles the HTTP bodies); one run is plenty for a
# ratio in the thousands.
t=$(time_cmd tshark -n -r "$capture" -T fields -e frame.len)
"$bin" warden "$capture"
"$bin" libpcap "$capture"
printf "median seconds: warden %.3f  libpcap loop %.3f  tshark %.2f\n" "$w" "$l" "$t"
printf "warden is %.2fx faster than the libpcap loop (goal >= 1.5x) and %.0fx faster than tshark (goal >= 50x)\n" \
  "$(echo "$l / $w" | bc -l)" "$(echo "$t / $w" | bc -l)"
