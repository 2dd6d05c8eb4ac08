#!/usr/bin/env bash
# Installs the Debian packages convstore needs to build, test and benchmark, if any are missing.
set -euo pipefail

packages=(g++ make cmake pkg-config libsqlite3-dev libssl-dev libzstd-dev libpq-dev nlohmann-json3-dev libfmt-dev libspdlog-dev
          libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev sqlite3 python3 python3-pytest python3-venv python3-setuptools python3-wheel clang libclang-rt-14-dev
          postgresql-15 python3-psycopg2 python3-numpy chromium libhwy-dev libhnswlib-dev ccache)
# PostgreSQL: the jsonb oracle and the sync tests; psycopg2 runs the seed chapter's class; numpy is the metrics
# tests' reference; headless Chromium renders the HTML cost report in its test; Highway (SIMD with runtime dispatch)
# runs vector search's scoring loops; hnswlib is its approximate index; ccache keeps the test script's compiles
# between runs on one machine.

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing missing packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
