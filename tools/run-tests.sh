#!/usr/bin/env bash
# Builds quantgraph with a CMake preset and runs the whole test suite (CTest, one entry per
# Criterion executable), printing the output of any failing test.
#
# Usage: tools/run-tests.sh [PRESET] [CTEST ARGS...]
#   PRESET     default (CPU, what CI runs) | asan | cuda       (default: default)
#   CTEST ARGS passed to ctest, e.g. -R cuda  or  -L base
# Environment: QG_JOBS (parallel jobs, default: number of cores).
# The build lands in build/PRESET; the last line is CTest's summary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

preset=default
if (($# > 0)) && [[ "$1" != -* ]]; then
  preset=$1
  shift
fi
case "$preset" in
  default | asan | cuda) ;;
  *) echo "run-tests.sh: unknown preset '$preset' (default, asan, cuda)" >&2; exit 2 ;;
esac
jobs=${QG_JOBS:-$(nproc 2>/dev/null || echo 2)}

# Missing build dependencies are installed when running as root (no-op otherwise if present).
if [[ -x tools/install-deps.sh ]]; then tools/install-deps.sh; fi

cmake --preset "$preset"
cmake --build --preset "$preset" -j "$jobs"
ctest --preset "$preset" -j "$jobs" "$@"
