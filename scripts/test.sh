#!/usr/bin/env bash
# Quick start, command 2 (and what CI runs): installs what Warden needs, checks formatting, then
# builds and runs the whole suite twice: the default preset (g++, RelWithDebInfo) and the asan
# preset (clang++, AddressSanitizer + UndefinedBehaviorSanitizer + LeakSanitizer).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/format.sh --check
for preset in default asan; do
  echo "== $preset: build"
  bash scripts/build.sh "$preset"
  echo "== $preset: test"
  ctest --preset "$preset" -j "$(nproc)"
done
