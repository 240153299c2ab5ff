#!/usr/bin/env bash
# Builds the hello expert as a user would (install Warden to a prefix, find_package(Warden),
# build the plug-in out of tree), runs it with the installed warden, and checks its per-protocol
# frame counts against tshark's (-Y PROTOCOL). Usage: test.sh WARDEN_BUILD_DIR CAPTURE
set -euo pipefail
build="$1"
capture="$2"
here="$(cd "$(dirname "$0")" && pwd)"
if [[ ! -f "$capture" ]]; then
  echo "skipping: $capture is absent"
  exit 0
fi
work="$(mktemp -d /tmp/warden-hello.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$here" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" >/dev/null
test -f "$work/prefix/include/warden/expert.h"
"$work/prefix/bin/warden" experts --expert-path "$work/build" | grep -q '^hello '
# Installed beside the host, it is found without --expert-path.
mkdir -p "$work/prefix/lib/warden/experts"
cp "$work/build/libhello.so" "$work/prefix/lib/warden/experts/"
"$work/prefix/bin/warden" run "$capture" -e hello --json > "$work/out.json"
status=0
for protocol in eth ip ipv6 tcp http; do
  expected=$(tshark -n -r "$capture" -Y "$protocol" 2>/dev/null | wc -l)
  got=$(python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
run = doc["runs"][0]
assert run["outcome"] == "succeeded", run
counts = {e["columns"]["Protocol"]: e["columns"]["Frames"] for e in run["events"]}
print(counts.get(sys.argv[2], 0))' "$work/out.json" "$protocol")
  if [[ "$got" != "$expected" ]]; then
    echo "FAIL $protocol: hello counted $got frames, tshark -Y $protocol $expected"
    status=1
  else
    echo "ok   $protocol: $got frames"
  fi
done
exit $status
