#!/usr/bin/env bash
# Cross-compiles kernels/ and its tests for arm64 and runs them under qemu-aarch64 for each CPU model:
#   cortex-a72 (NEON only), neoverse-n1 (dotprod, Graviton2-like),
#   max,sve256=on (SVE 256, BF16, I8MM: Graviton3-like), max,sve128=on (SVE2 128: Graviton4-like).
# Correctness only: qemu timings mean nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${ARM_BUILD_DIR:-build-arm64}
cmake -S . -B "$BUILD_DIR" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DORTKIT_KERNELS_ONLY=ON \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
status=0
for cpu in cortex-a72 neoverse-n1 "max,sve256=on" "max,sve128=on"; do
  echo "== arm64 kernels under qemu -cpu $cpu"
  if ! qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu "$cpu" "$BUILD_DIR/tests/test_kernels" --use-colour no; then
    echo "FAILED under -cpu $cpu"
    status=1
  fi
done
exit $status
