#!/usr/bin/env bash
# Cross-compiles kernels/ and its tests for arm64 and runs them under qemu-aarch64 for each CPU model:
#   cortex-a72 (NEON only), neoverse-n1 (dotprod, Graviton2-like),
#   max,sve256=on (SVE 256, BF16, I8MM: Graviton3-like), max,sve128=on (SVE2 128: Graviton4-like),
#   max,sve512=on (only the SVE kernels, for their 512-bit entries).
# Prints, per model, which kernels the sweep ran and which it could not, and fails if a test fails or if
# some registered kernel ran under no model. Correctness only: qemu timings mean nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${ARM_BUILD_DIR:-build-arm64}
QEMU=${QEMU:-qemu-aarch64}
cmake -S . -B "$BUILD_DIR" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DORTKIT_KERNELS_ONLY=ON \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT
status=0
# model|kernel-name filter for the sweep (empty: all)
for entry in "cortex-a72|" "neoverse-n1|" "max,sve256=on|" "max,sve128=on|" "max,sve512=on|_sve_"; do
  cpu=${entry%%|*}
  filter=${entry#*|}
  echo "== arm64 kernels under qemu -cpu $cpu${filter:+ (sweep limited to *$filter*)}"
  log="$log_dir/${cpu//[,=]/_}.log"
  if ORTKIT_TEST_REPORT=1 ORTKIT_TEST_KERNELS="$filter" \
    LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib "$QEMU" -L /usr/aarch64-linux-gnu -cpu "$cpu" "$BUILD_DIR/tests/test_kernels" --use-colour no >"$log" 2>&1; then
    tail -n 2 "$log" | grep -E "passed|failed" || true
  else
    cat "$log"
    echo "FAILED under -cpu $cpu"
    status=1
  fi
  echo "   ran:     $(awk '$1 == "[kernel-sweep]" && $2 == "ran" {printf "%s ", $3}' "$log")"
  echo "   not run: $(awk '$1 == "[kernel-sweep]" && $2 == "not-run" {printf "%s ", $3}' "$log")"
done
# Every kernel seen by any sweep must have run under at least one model.
all=$(awk '$1 == "[kernel-sweep]" {print $3}' "$log_dir"/*.log | sort -u)
ran=$(awk '$1 == "[kernel-sweep]" && $2 == "ran" {print $3}' "$log_dir"/*.log | sort -u)
never=$(comm -23 <(echo "$all") <(echo "$ran"))
if [ -z "$all" ]; then
  echo "FAILED: the sweep reported no kernels (ORTKIT_TEST_REPORT not honoured?)"
  status=1
elif [ -n "$never" ]; then
  echo "FAILED: kernels that ran under no CPU model: $(echo $never)"
  status=1
else
  echo "every kernel ran under at least one CPU model ($(echo "$all" | wc -l) kernels)"
fi
exit $status
