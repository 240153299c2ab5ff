#!/usr/bin/env bash
# Quick start, command 1: installs what Warden needs, builds it, and runs the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh default >/dev/null
warden=build/default/tools/warden/warden
"$warden" --version
"$warden" experts
# All six built-ins in one run over the bundled capture (HTTP on port 8001 there).
"$warden" run testdata/demo.pcapng -e protdist -e topusers:address=ip -e tcpretrans \
  -e srt:ports=8001 -e propdist:top=10 -e coalesce:out=build/demo-coalesced.pcapng
"$warden" custody-demo
