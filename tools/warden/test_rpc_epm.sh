#!/usr/bin/env bash
# cli.rpc_epm: starts `warden rpc epm` on a free loopback port, asks it through impacket's
# hept_map and hept_lookup (impacket_epm.py), stops it with SIGINT and prints its exit status.
# Usage: test_rpc_epm.sh WARDEN IMPACKET_EPM_PY
set -uo pipefail
warden="$1"
script="$2"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$warden" rpc epm --listen 127.0.0.1 >"$out" 2>&1 &
pid=$!
for _ in $(seq 100); do
  grep -q "listening on" "$out" && break
  sleep 0.05
done
port=$(sed -n 's/.*listening on ncacn_ip_tcp:127.0.0.1\[\([0-9]*\)\].*/\1/p' "$out")
echo "mapped $(/usr/bin/python3 "$script" "$port" e1af8308-5d1f-11c9-91a4-08002b14a0fa 3.0 2>&1)"
kill -INT "$pid"
wait "$pid"
status=$?
cat "$out"
echo "exit=$status"
