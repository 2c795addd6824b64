#!/usr/bin/env bash
# The whole test suite: x86 build + ctest (unit, CLI, ONNX backend conformance, peer checks that skip when
# their peer is absent), then the arm64 kernels under qemu for every CPU model.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure -j"$(nproc)")
scripts/test-arm64.sh
