#!/usr/bin/env bash
# Quick start, command 1: installs what Warden needs, builds it, and runs the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh default >/dev/null
warden=build/default/tools/warden/warden
"$warden" --version
"$warden" custody-demo
