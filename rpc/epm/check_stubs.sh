#!/usr/bin/env bash
# Regenerates the endpoint mapper's stubs from epm.idl and compares them with the ones in the
# tree. Usage: check_stubs.sh WARDEN_BINARY EPM_DIR  (WARDEN_UPDATE_GOLDENS=1 rewrites them)
set -euo pipefail
warden="$1"
dir="$2"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$warden" idl "$dir/epm.idl" --header --client --server --manager-prefix mgr_ -o "$out" >/dev/null
for f in epm.h epm_c.cc epm_s.cc; do
  if [[ "${WARDEN_UPDATE_GOLDENS:-}" == 1 ]]; then
    cp "$out/$f" "$dir/$f"
  elif ! diff -u "$dir/$f" "$out/$f"; then
    echo "rpc/epm/$f is out of date: run WARDEN_UPDATE_GOLDENS=1 ctest -R rpc.epm_stubs_current"
    exit 1
  fi
done
echo "epm stubs current"
