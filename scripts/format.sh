#!/usr/bin/env bash
# Checks (--check, the default) or applies (--fix) the pinned .clang-format to every C++ file the
# repository tracks or would track.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:---check}"
# rpc/epm's stubs are the IDL compiler's output, kept as it writes them.
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.h' '*.c' '*.cc' \
  ':!rpc/epm/epm.h' ':!rpc/epm/epm_c.cc' ':!rpc/epm/epm_s.cc')
if ((${#files[@]} == 0)); then exit 0; fi
case "$mode" in
  --fix) clang-format -i "${files[@]}" ;;
  --check)
    if ! clang-format --dry-run --Werror "${files[@]}"; then
      echo "format: run scripts/format.sh --fix" >&2
      exit 1
    fi
    echo "format: ${#files[@]} files clean" ;;
  *) echo "usage: scripts/format.sh [--check|--fix]" >&2; exit 2 ;;
esac
