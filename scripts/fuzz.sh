#!/usr/bin/env bash
# Fuzzes every JSON input of the C ABI with libFuzzer for a bounded time (CI runs this).
#
# Builds the fuzz_<target> executables with clang in build-fuzz/ (or $CONVSTORE_FUZZ_BUILD_DIR), with the whole
# project — libconvstore included — instrumented for libFuzzer, ASan and UBSan, then runs each target for
# $FUZZ_SECONDS seconds (default 6) from a scratch copy of tests/fuzz/corpus/<target>/ (the repository's corpus is
# never modified) plus tests/fuzz/regressions/<target>/. Prints "fuzz <target>: N executions, K crashes" per target
# and exits non-zero if any target crashed or broke an invariant; the failing input is kept in
# <build dir>/artifacts/<target>/.
#
# Usage: ./scripts/fuzz.sh [target...]     (default: every tests/fuzz/fuzz_<target>.cc)
# Environment: FUZZ_SECONDS (6), FUZZ_TIMEOUT (seconds one input may take, 60), FUZZ_JOBS (build jobs, nproc),
#              CONVSTORE_FUZZ_BUILD_DIR (build-fuzz), CONVSTORE_FUZZ_REUSE_BUILD=1 (the build directory is already
#              configured with clang, CONVSTORE_FUZZ=ON and -fsanitize=fuzzer-no-link, as scripts/test.sh's ASan
#              stage does: use it as it is instead of configuring it here; that build defines NDEBUG, so
#              assertions are off there, which this script's own build keeps on).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

build_dir="${CONVSTORE_FUZZ_BUILD_DIR:-build-fuzz}"
case "$build_dir" in /*) ;; *) build_dir="$root/$build_dir" ;; esac
seconds="${FUZZ_SECONDS:-6}"
timeout="${FUZZ_TIMEOUT:-60}"
jobs="${FUZZ_JOBS:-$(nproc)}"
for v in seconds timeout jobs; do
  if ! [[ "${!v}" =~ ^[1-9][0-9]*$ ]]; then
    echo "fuzz.sh: $v must be a positive integer, not '${!v}'" >&2
    exit 2
  fi
done

for tool in clang clang++ cmake; do
  if ! command -v "$tool" >/dev/null; then
    echo "fuzz.sh: $tool not found (Debian: apt-get install clang libclang-rt-14-dev cmake)" >&2
    exit 2
  fi
done

fuzz_dir="$root/tests/fuzz"
targets=()
if [ $# -gt 0 ]; then
  for t in "$@"; do
    if [ ! -f "$fuzz_dir/fuzz_$t.cc" ]; then
      echo "fuzz.sh: no fuzz target '$t' (tests/fuzz/fuzz_$t.cc)" >&2
      exit 2
    fi
    targets+=("$t")
  done
else
  for src in "$fuzz_dir"/fuzz_*.cc; do
    t="$(basename "$src" .cc)"
    targets+=("${t#fuzz_}")
  done
fi

# -O1 -g without NDEBUG: assertions (nlohmann's included) stay on. UB is fatal, so libFuzzer sees it as a crash.
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link -fno-omit-frame-pointer"
preload=""
if [ "${CONVSTORE_FUZZ_REUSE_BUILD:-0}" = 1 ]; then
  if ! grep -q '^CONVSTORE_FUZZ:BOOL=ON' "$build_dir/CMakeCache.txt" 2>/dev/null; then
    echo "fuzz.sh: CONVSTORE_FUZZ_REUSE_BUILD=1, but $build_dir is not a build configured with CONVSTORE_FUZZ=ON" >&2
    exit 2
  fi
  echo "== reuse $build_dir"
  # That build links the shared ASan runtime (see cmake/Sanitizers.cmake), and libFuzzer puts libstdc++ before it
  # in the executables' library list: preloading it (for the fuzz runs only) puts it first, as ASan requires.
  if grep -q '^CONVSTORE_SANITIZE:STRING=.*address' "$build_dir/CMakeCache.txt"; then
    preload="$(clang++ -print-file-name=libclang_rt.asan-x86_64.so)"
  fi
else
echo "== configure $build_dir (clang, libFuzzer + ASan + UBSan)"
CC=clang CXX=clang++ cmake -S "$root" -B "$build_dir" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="$sanitize" -DCMAKE_CXX_FLAGS="$sanitize" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DCONVSTORE_FUZZ=ON -DCONVSTORE_BUILD_BENCH=OFF -DCONVSTORE_BUILD_EXAMPLES=OFF >/dev/null
fi

binaries=()
for t in "${targets[@]}"; do binaries+=("fuzz_$t"); done
echo "== build ${binaries[*]}"
cmake --build "$build_dir" -j "$jobs" --target "${binaries[@]}"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

failed=()
summary=()
for t in "${targets[@]}"; do
  corpus="$build_dir/corpus/$t"        # scratch: libFuzzer adds new inputs to the first corpus directory
  artifacts="$build_dir/artifacts/$t"
  log="$build_dir/logs/$t.log"
  rm -rf "$corpus" "$artifacts"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  cp -R "$fuzz_dir/corpus/$t/." "$corpus/"

  echo "== fuzz $t for ${seconds}s (log: $log)"
  rc=0
  LD_PRELOAD="$preload" "$build_dir/tests/fuzz/fuzz_$t" \
    -max_total_time="$seconds" -timeout="$timeout" -max_len=65536 -rss_limit_mb=2048 \
    -print_final_stats=1 -dict="$fuzz_dir/convstore.dict" -artifact_prefix="$artifacts/" \
    "$corpus" "$fuzz_dir/regressions/$t" >"$log" 2>&1 || rc=$?

  executions="$(sed -n 's/^stat::number_of_executed_units: *\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)"
  [ -n "$executions" ] || executions="?"
  found=()
  while IFS= read -r -d '' f; do found+=("$f"); done \
    < <(find "$artifacts" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
                                                 -o -name 'oom-*' \) -print0)
  crashes=${#found[@]}
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
  line="fuzz $t: $executions executions, $crashes crash$([ "$crashes" -eq 1 ] || echo es)"
  summary+=("$line")
  echo "$line"
  if [ "$crashes" -ne 0 ]; then
    failed+=("$t")
    echo "---- last lines of $log:"
    tail -n 60 "$log"
    echo "----"
    if [ ${#found[@]} -gt 0 ]; then
      for f in "${found[@]}"; do
        echo "fuzz $t: failing input: $f"
        echo "  reproduce: $build_dir/tests/fuzz/fuzz_$t $f"
        echo "  then keep it as a regression input: cp $f tests/fuzz/regressions/$t/"
      done
    else
      echo "fuzz $t: libFuzzer exited with status $rc without writing an artifact; see $log"
    fi
  fi
done

echo "== summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: FAILED: ${failed[*]} — copy each failing input above into tests/fuzz/regressions/<target>/," \
       "fix the bug, and check with ctest -R fuzz_replay" >&2
  exit 1
fi
