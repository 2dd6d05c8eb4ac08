#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with warnings as errors, runs C++, C, install and Python
# tests through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/build.sh
build_dir="${CONVSTORE_BUILD_DIR:-build}"
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)"
