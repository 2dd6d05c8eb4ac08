#!/usr/bin/env bash
# Configures and builds convstore in build/ (or $CONVSTORE_BUILD_DIR). Extra arguments are build targets.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${CONVSTORE_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONVSTORE_WERROR=ON >/dev/null
if [ $# -gt 0 ]; then
  for target in "$@"; do cmake --build "$build_dir" -j "$(nproc)" --target "$target"; done
else
  cmake --build "$build_dir" -j "$(nproc)"
fi
