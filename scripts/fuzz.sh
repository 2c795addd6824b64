#!/usr/bin/env bash
# Fuzzes the model loader and runtime: arbitrary bytes as an ONNX model, through Session::from_bytes and
# one run (tests/fuzz/fuzz_model.cpp), under libFuzzer with AddressSanitizer and UBSan.
#   scripts/fuzz.sh [SECONDS=300] [JOBS=1]
# Builds build-fuzz/ with clang (scripts/setup.sh --fuzz installs it). Seeds: the ONNX node-test models
# (Debian's libonnx-testdata) and tests/fuzz/regressions. The corpus grows in build-fuzz/corpus; a crash
# is written to build-fuzz/crash-* and the script exits non-zero (with JOBS > 1 each job logs to
# build-fuzz/fuzz-N.log). `build/tests/fuzz_replay -v FILE` shows what a crash input does in the plain
# build, and scripts/fuzz_mutants.py writes structure-aware inputs to replay or add to the corpus. Copy the file into tests/fuzz/regressions
# once fixed: ctest `fuzz:replay` then runs it in every build.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"; jobs="${2:-1}"
command -v clang++ > /dev/null || { echo "fuzz: clang++ not found (scripts/setup.sh --fuzz)" >&2; exit 2; }
if [[ ! -f build-fuzz/CMakeCache.txt ]]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -DORTKIT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" > /dev/null
fi
cmake --build build-fuzz --target fuzz_model -j"$(nproc)" > /dev/null
mkdir -p build-fuzz/corpus
seeds=("$PWD/tests/fuzz/regressions")
[[ -d /usr/include/onnx/backend/test/data/node ]] && seeds+=(/usr/include/onnx/backend/test/data/node)
# A model may legitimately ask for a huge tensor: the allocator returns null (std::bad_alloc, which the
# target accepts) instead of aborting. Leaks are not findings here: an exception thrown mid-compile may
# leave a cached plan the session frees at exit, and the session is destroyed on every path anyway.
export ASAN_OPTIONS="allocator_may_return_null=1:detect_leaks=0:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
cd build-fuzz
exec ./tests/fuzz_model corpus "${seeds[@]}" -max_total_time="$seconds" -jobs="$jobs" -workers="$jobs" \
  -timeout=20 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1
