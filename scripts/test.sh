#!/usr/bin/env bash
# The whole test suite. Installs what is missing, then:
#   1. the normal build (warnings as errors): C++, C, install/find_package, Python, examples, crash (kill -9),
#      fault injection and fuzz-corpus replay tests;
#   2. the same suite under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan, clang, instrumented for
#      libFuzzer too so that stage 4 reuses it);
#   3. the concurrency tests (and the racing-budget, concurrent metadata-search and background checkpointer tests)
#      under ThreadSanitizer
#      (build-tsan);
#   4. each libFuzzer target for a bounded time (FUZZ_SECONDS: 4 here, the script's own default 6), built in
#      build-asan when stage 2 ran, else in build-fuzz.
# CONVSTORE_TEST_STAGES selects stages (default "normal asan tsan fuzz").
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
stages="${CONVSTORE_TEST_STAGES:-normal asan tsan fuzz}"
# Compiles go through ccache: a later run on the same machine (another clone too: paths are hashed relative to the
# checkout, CCACHE_BASEDIR) compiles only what changed. CMake takes the launcher from the environment for every
# build tree it configures, the packaging tests' own builds included. CONVSTORE_CCACHE=0 compiles without it.
# Only with a cache directory it can write (a read-only home would otherwise fail every compile).
ccache_dir="$(command -v ccache >/dev/null && ccache -k cache_dir 2>/dev/null || true)"
if [ "${CONVSTORE_CCACHE:-1}" != 0 ] && [ -n "$ccache_dir" ] && mkdir -p "$ccache_dir" 2>/dev/null && [ -w "$ccache_dir" ]; then
  export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
fi
jobs="$(nproc)"
passed=0
failed=0

# Runs ctest in a build directory and adds its counts to the totals.
run_ctest() {
  local dir="$1"; shift
  local log
  log="$(mktemp)"
  set +e
  # One test more than cores: many wait on fsync or on their child processes.
  ctest --test-dir "$dir" --output-on-failure -j "$((jobs + 1))" "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  local line total bad
  line="$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1 || true)"
  total="$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")"
  bad="$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")"
  rm -f "$log"
  if [ -n "$line" ]; then passed=$((passed + total - bad)); failed=$((failed + bad)); fi
  return "$rc"
}

configure() {  # configure DIR [cmake args...]
  local dir="$1"; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONVSTORE_WERROR=ON "$@" >/dev/null
}
# The sanitizer builds compile at -O1 with line tables (-g1): what the sanitizers' documentation recommends, and
# under ASan + UBSan a third of the compile time of -O2 -g.
sanitizer_flags=(-DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG")

# Prints how long a stage took (on success and, through the EXIT trap, when a stage fails).
stage_started=0
current_stage=""
report_stage() {
  if [ -n "$current_stage" ]; then
    echo "=== stage $current_stage took $((SECONDS - stage_started)) s ==="
    current_stage=""
  fi
}
trap report_stage EXIT

for stage in $stages; do
  echo "=== stage: $stage ==="
  current_stage="$stage"
  stage_started=$SECONDS
  case "$stage" in
    normal)
      # -O2 as released, with line tables only (-g1): failures still show files and lines, and the build takes
      # less time than with full debug information.
      configure "${CONVSTORE_BUILD_DIR:-build}" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"
      cmake --build "${CONVSTORE_BUILD_DIR:-build}" -j "$jobs"
      # The allocation-fault sweep fails every fourth allocation here (every allocation: CONVSTORE_MALLOC_FAULT_STRIDE=1).
      CONVSTORE_MALLOC_FAULT_STRIDE="${CONVSTORE_MALLOC_FAULT_STRIDE:-4}" run_ctest "${CONVSTORE_BUILD_DIR:-build}"
      ;;
    asan)
      # Clang: it compiles this build about twice as fast as GCC, and the fuzz stage reuses it (the fuzzer
      # instrumentation costs the tests little). The library compiles as a unity build (fewer, larger units).
      CC=clang CXX=clang++ configure build-asan -DCONVSTORE_SANITIZE=address,undefined -DCONVSTORE_BUILD_BENCH=OFF \
        -DCONVSTORE_UNITY_LIBRARY=ON \
        -DCONVSTORE_FUZZ=ON -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link \
        "${sanitizer_flags[@]}"
      cmake --build build-asan -j "$jobs"
      # The crash tests' 240 + 120 kills, the sync's 60 kills and 600-operation workload, the 200 point-in-time
      # restores, the 150 forks, the I/O fault sweeps over every call and the malloc sweep run in the normal stage;
      # here shorter runs (every eighth I/O call, every 256th allocation and 150 points of open, starting from the second so ones
      # the first stage skips are failed too) check the same code instrumented. The packaging tests (install,
      # add_subdirectory) build without sanitizers and ran in the normal stage, as did Chromium's rendering of the
      # cost report (here the page is checked, not drawn).
      CONVSTORE_REPORT_BROWSER=skip CONVSTORE_CRASH_KILLS=25 CONVSTORE_OPS_CRASH_KILLS=20 CONVSTORE_RETENTION_KILLS=10 CONVSTORE_ERASE_KILLS=8 CONVSTORE_SYNC_KILLS=12 CONVSTORE_GLOBAL_KILLS=10 CONVSTORE_SYNC_OPS=200 CONVSTORE_PITR_INSTANTS=40 CONVSTORE_FORK_COUNT=30 CONVSTORE_CHECKPOINT_WRITES=6000 CONVSTORE_FAULT_SWEEP_STRIDE=8 CONVSTORE_MALLOC_FAULT_STRIDE=256 CONVSTORE_MALLOC_FAULT_START=2 CONVSTORE_MALLOC_FAULT_OPEN_RUNS=150 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        run_ctest build-asan -E '^(install_consumer_test|subdirectory_consumer_test)$'
      ;;
    tsan)
      # The library as a unity build here too; the normal stage compiles each of its files on its own.
      configure build-tsan -DCONVSTORE_SANITIZE=thread -DCONVSTORE_BUILD_BENCH=OFF -DCONVSTORE_BUILD_EXAMPLES=OFF \
        -DCONVSTORE_UNITY_LIBRARY=ON "${sanitizer_flags[@]}"
      cmake --build build-tsan -j "$jobs" --target concurrency_test write_queue_test cost_test metadata_search_test \
        checkpoint_test exclusive_test
      CONVSTORE_CHECKPOINT_WRITES=6000 TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
        run_ctest build-tsan -R '^(ConcurrencyTest|WriteQueueTest|BudgetTest|MetadataConcurrency|BackgroundCheckpoints|Exclusive)\.'
      ;;
    fuzz)
      if [ -f build-asan/CMakeCache.txt ] && grep -q '^CONVSTORE_FUZZ:BOOL=ON' build-asan/CMakeCache.txt; then
        FUZZ_SECONDS="${FUZZ_SECONDS:-4}" CONVSTORE_FUZZ_BUILD_DIR=build-asan CONVSTORE_FUZZ_REUSE_BUILD=1 ./scripts/fuzz.sh
      else
        FUZZ_SECONDS="${FUZZ_SECONDS:-4}" ./scripts/fuzz.sh
      fi
      ;;
    *)
      echo "unknown stage '$stage'" >&2
      exit 2
      ;;
  esac
  report_stage
done
echo "total: $passed passed, $failed failed in $((SECONDS / 60)) min $((SECONDS % 60)) s"
