#!/usr/bin/env bash
# The demo: installs what is missing, builds the library and the C++ quickstart, and runs the reference V1 `AIDatabase`
# example on an embedded file store (convstore-demo.db in the repository root, or the path given).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/build.sh quickstart quickstart_c convstore >/dev/null
build_dir="${CONVSTORE_BUILD_DIR:-build}"
db="${1:-convstore-demo.db}"
"$build_dir/examples/quickstart" "$db"
cat <<EOT

The store is the single file $db (plus its -wal/-shm while open). Run the demo again and the list grows:
the data is durable. Next:
  - Python:  CONVSTORE_LIBRARY=$build_dir/libconvstore.so PYTHONPATH=bindings/python /usr/bin/python3 examples/quickstart.py
  - C:       $build_dir/examples/quickstart_c
  - Docs:    docs/architecture.md, docs/costs.md, docs/c-api.md, docs/python.md, docs/benchmarks.md
EOT
