#!/usr/bin/env bash
# Quick start, command 1: installs what Warden needs, builds it, and runs the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh default >/dev/null
warden=build/default/tools/warden/warden
"$warden" --version
"$warden" experts
capture=../shared/captures/zeek_http_bro.org.pcap
if [[ -f "$capture" ]]; then
  "$warden" run "$capture"
else
  echo "($capture is absent: skipping warden run)"
fi
"$warden" custody-demo
