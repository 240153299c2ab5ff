#!/usr/bin/env bash
# Records real traffic on loopback inside a private network namespace (unshare -n: only its own lo
# exists, nothing leaves the machine) into OUTDIR. Usage: record_loopback.sh OUTDIR [NAME]...
# with NAME among (default: http frag dns):
#   http   http.pcap: HTTP downloads over TCP from 127.0.0.2-4 and over IPv6 (curl -> python
#          http.server)
#   frag   frag.pcap: UDP and ICMP datagrams larger than the 1500-byte MTU, IPv4 and IPv6 (real
#          fragments; the UDP one goes to a closed port, so an ICMP error quotes it)
#   dns    dns.pcap: DNS queries and answers over UDP port 53 (a tiny python responder)
#   lossy  lossy.pcap: four parallel HTTP downloads (127.0.0.2-5; LOSSY_BYTES each, default 2 MB)
#          through a tbf queue too small for them, so real segments are dropped and retransmitted
# Needs root (unshare, tcpdump). Every server and capture is bounded by timeout.
set -euo pipefail
out=$(realpath "$1")
shift
names="${*:-http frag dns}"
mkdir -p "$out"
exec unshare -n env LOSSY_BYTES="${LOSSY_BYTES:-2000000}" bash -s "$out" "$names" <<'INNER'
set -euo pipefail
out=$1
names=" $2 "
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
ip link set lo up mtu 1500
ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || true
cd "$work"

capture() {  # capture FILE FILTER -> starts tcpdump, waits until it listens
  timeout 60 tcpdump --immediate-mode -i lo -s 0 -U -w "$1" "$2" 2>"$work/tcpdump.err" &
  for _ in $(seq 50); do grep -q listening "$work/tcpdump.err" 2>/dev/null && break; sleep 0.1; done
}
stop() { sleep 0.5; kill -INT "$1"; wait "$1" 2>/dev/null || true; }

wanted() { [[ $names == *" $1 "* ]]; }

if wanted http; then
head -c 300000 /dev/urandom > file.bin
capture "$out/http.pcap" "tcp port 8000"; dump=$!
timeout 60 python3 -m http.server 8000 --bind :: >/dev/null 2>&1 &
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:8000/ 2>/dev/null && break; sleep 0.1; done
for src in 127.0.0.2 127.0.0.3 127.0.0.4; do
  curl -s --interface "$src" -o /dev/null http://127.0.0.1:8000/file.bin
done
curl -s -g -6 -o /dev/null 'http://[::1]:8000/file.bin'
stop $dump
fi

if wanted frag; then

capture "$out/frag.pcap" "udp or icmp or icmp6 or (ip6 and not tcp)"; dump=$!
python3 - <<'PY'
import socket
for family, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.sendto(bytes(range(256)) * 16, (addr, 9999))  # 4096 bytes to a closed port
PY
ping -c 2 -s 3000 -i 0.2 127.0.0.1 >/dev/null
ping -6 -c 2 -s 3000 -i 0.2 ::1 >/dev/null
stop $dump
fi

if wanted dns; then

capture "$out/dns.pcap" "udp port 53"; dump=$!
timeout 30 python3 - <<'PY'
import socket, struct, threading
server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("127.0.0.1", 53))
def answer():
    for _ in range(3):
        query, peer = server.recvfrom(512)
        # Same id and question, response bit set, one A record pointing at the name (0xc00c).
        reply = query[:2] + b"\x81\x80" + query[4:6] + b"\x00\x01\x00\x00\x00\x00" + query[12:]
        reply += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x01"
        server.sendto(reply, peer)
threading.Thread(target=answer, daemon=True).start()
client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
client.settimeout(5)
for i, name in enumerate(["warden.example", "www.example.org", "a.b.c.example.net"]):
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    client.sendto(struct.pack(">HHHHHH", 0x1000 + i, 0x0100, 1, 0, 0, 0) + labels + b"\x00\x01\x00\x01",
                  ("127.0.0.1", 53))
    client.recvfrom(512)
PY
stop $dump
fi

if wanted lossy; then
head -c "$LOSSY_BYTES" /dev/urandom > big.bin
tc qdisc add dev lo root tbf rate 40mbit burst 20kb limit 30kb
capture "$out/lossy.pcap" "tcp port 8001"; dump=$!
timeout 60 python3 -m http.server 8001 --bind 127.0.0.1 >/dev/null 2>&1 &
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:8001/ 2>/dev/null && break; sleep 0.1; done
pids=()
for src in 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5; do
  timeout 60 curl -s --interface "$src" -o /dev/null http://127.0.0.1:8001/big.bin &
  pids+=($!)
done
wait "${pids[@]}"
stop $dump
tc qdisc del dev lo root
fi
INNER
