#!/usr/bin/env bash
# All six built-in experts in one `warden run` against the tshark commands that compute the same
# results, and against the floor of simply reading the file (`capinfos -c`, `tcpdump -r F -w
# /dev/null`), in one run on the same machine: medians, ratios and peak RSS.
#
# Recordings (made once, under build/bench-data/, inside a private network namespace: loopback
# only, offloads off, a small tbf queue that drops real segments):
#   lossy-http.pcap   >= 200 MB: 48 HTTP downloads of 4.5 MB from 8 source addresses, 4 at a time
#   lossy-half.pcap   the first half of it (editcap), to show memory does not grow with the file
#   one-response.pcap one 190 MB HTTP response (tshark's HTTP body reassembly is slow on it)
# Usage: bench/six_experts_bench.sh [REPS] [TSHARK_TIMEOUT_SECONDS]
#   REPS (default 3) runs of warden and the read floors; tshark once per command (its ratio is
#   in the hundreds, one run is plenty); a tshark command still running after the timeout
#   (default 900 s) is stopped and reported as "> timeout".
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-3}"
tshark_timeout="${2:-900}"
data=build/bench-data
mkdir -p "$data"

record() {  # record FILE DOWNLOADS BYTES PARALLEL
  local file=$1 downloads=$2 bytes=$3 parallel=$4
  echo "recording $file ($downloads downloads of $bytes bytes, $parallel at a time)..."
  head -c "$bytes" /dev/urandom > "$data/body.bin"
  unshare -n bash -s "$data" "$file" "$downloads" "$parallel" <<'INNER'
set -euo pipefail
cd "$1"; file=$2; downloads=$3; parallel=$4
ip link set lo up mtu 1500
ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || true
tc qdisc add dev lo root tbf rate 800mbit burst 64kb limit 96kb
timeout 600 python3 -m http.server 8000 --bind 127.0.0.1 >/dev/null 2>&1 &
server=$!
timeout 600 tcpdump --immediate-mode -i lo -s 0 -w "$file" "tcp port 8000" 2>/dev/null &
dump=$!
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:8000/ 2>/dev/null && break; sleep 0.1; done
n=0
while ((n < downloads)); do
  pids=()
  for ((i = 0; i < parallel && n < downloads; i++, n++)); do
    timeout 120 curl -s --interface "127.0.0.$((2 + n % 8))" -o /dev/null \
      http://127.0.0.1:8000/body.bin &
    pids+=($!)
  done
  wait "${pids[@]}"
done
sleep 1
kill -INT $dump; wait $dump 2>/dev/null || true
kill $server 2>/dev/null || true
INNER
  rm -f "$data/body.bin"
}

[[ -s "$data/lossy-http.pcap" ]] || record lossy-http.pcap 48 4500000 4
[[ -s "$data/one-response.pcap" ]] || record one-response.pcap 1 190000000 1
if [[ ! -s "$data/lossy-half.pcap" ]]; then
  total=$(capinfos -c -M "$data/lossy-http.pcap" | awk -F: '/Number of packets/ {print $2}' | tr -d ' ')
  editcap -r "$data/lossy-http.pcap" "$data/lossy-half.pcap" "1-$((total / 2))"
fi

cmake --preset release >/dev/null && cmake --build --preset release --target warden >/dev/null
warden=build/release/tools/warden/warden
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
peak_kb() { /usr/bin/time -f %M "$warden" run "$@" 2>&1 >/dev/null | tail -1; }
experts=(-e protdist -e topusers:address=ip -e tcpretrans -e srt:ports=8000 -e propdist
         -e "coalesce:out=$data/coalesced.pcapng")
six() { "$warden" run "$1" "${experts[@]}" -q --csv; }

# The tshark commands that give what the six experts give.
tshark_commands=(
  "-q -z io,phs -o tcp.desegment_tcp_streams:FALSE"                     # Protocol Distribution
  "-q -z endpoints,ip"                                                  # Top Users
  "-Y tcp.analysis.retransmission"                                      # TCP Retransmit
  "-o tcp.reassemble_out_of_order:TRUE -T fields -e http.time -e dns.time -e smb2.time"  # SRT
  "-T fields -e tcp.window_size_value"                                  # Property Distribution
  "-o tcp.reassemble_out_of_order:TRUE -T fields -e tcp.reassembled.length"  # Coalesce's work
)

bench() {
  local capture=$1
  cat "$capture" > /dev/null  # page cache warm for everyone
  local size frames
  size=$(stat -c %s "$capture")
  frames=$(capinfos -c -M "$capture" | awk -F: '/Number of packets/ {print $2}' | tr -d ' ')
  echo "== $capture: $((size / 1000000)) MB, $frames frames"
  local w c t
  # Coalesce's previous output is removed first, outside the timing: truncating a 200 MB file is
  # the file system's work of the last run, not this one's.
  # The three are interleaved, one of each per round: this machine's speed drifts by a quarter
  # over minutes, and a ratio should compare runs of the same minute.
  local ws=() cs=() ts=()
  for _ in $(seq "$reps"); do
    rm -f "$data/coalesced.pcapng"
    ws+=("$(seconds six "$capture")")
    cs+=("$(seconds capinfos -c "$capture")")
    ts+=("$(seconds tcpdump -r "$capture" -w /dev/null)")
  done
  w=$(printf '%s\n' "${ws[@]}" | median)
  c=$(printf '%s\n' "${cs[@]}" | median)
  t=$(printf '%s\n' "${ts[@]}" | median)
  local sum=0 over=""
  for args in "${tshark_commands[@]}"; do
    local s
    # shellcheck disable=SC2086
    s=$(seconds timeout "$tshark_timeout" tshark -n -r "$capture" $args)
    if (($(echo "$s >= $tshark_timeout" | bc -l))); then over=">"; fi
    printf "   tshark %-70s %8.2f s\n" "$args" "$s"
    sum=$(echo "$sum + $s" | bc -l)
  done
  printf "   warden, six experts in one run (median of %s): %.3f s, peak RSS %s KB\n" "$reps" "$w" \
    "$(peak_kb "$capture" "${experts[@]}" -q --csv)"
  printf "   read floor: capinfos -c %.3f s, tcpdump -r -w /dev/null %.3f s\n" "$c" "$t"
  printf "   tshark sum %s%.1f s: warden is %s%.0fx faster; %.2fx the tcpdump floor, %.2fx capinfos\n" \
    "$over" "$sum" "$over" "$(echo "$sum / $w" | bc -l)" "$(echo "$w / $t" | bc -l)" \
    "$(echo "$w / $c" | bc -l)"
}

bench "$data/lossy-http.pcap"
echo "== memory against file size (five non-coalesce experts, peak RSS in KB, file pages included)"
five=(-e protdist -e topusers -e tcpretrans -e srt -e propdist -q --csv)
echo "   together   half: $(peak_kb "$data/lossy-half.pcap" "${five[@]}")  whole: $(peak_kb "$data/lossy-http.pcap" "${five[@]}")"
for expert in protdist topusers tcpretrans srt propdist; do
  printf "   %-10s half: %s  whole: %s\n" "$expert" "$(peak_kb "$data/lossy-half.pcap" -e "$expert" -q --csv)" \
    "$(peak_kb "$data/lossy-http.pcap" -e "$expert" -q --csv)"
done
bench "$data/one-response.pcap"
