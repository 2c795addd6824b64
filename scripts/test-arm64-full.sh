#!/usr/bin/env bash
# Cross-builds the whole project (lib + ort-bench, ort-quantize, ort-cpuinfo) for arm64 against Debian 12's
# multiarch arm64 libraries and runs it under qemu-aarch64:
#   ort-cpuinfo; ort-bench on bert-tiny in fp32, bf16 and int8; ort-quantize of bert-tiny; ort-bench verify
#   against the ONNX Runtime reference outputs in tests/data/zoo/bert-tiny: fp32 at rtol 1e-3 / atol 1e-4
#   under -cpu max,sve256=on (Graviton3-like), neoverse-n1 and cortex-a72; bf16 (max,sve256=on) at rtol 1e-2 /
#   atol 2e-3; the int8 model (all three) at rtol 2e-2 / atol 5e-3 (quantization error against fp32 ORT);
#   resnet-tiny fp32 with its 3x3 convs forced to Winograd (all three) and as chosen, at rtol 1e-3 / atol 1e-4;
#   and the library's unit tests (test_lib: ops, runtime, quantizer, bench, against the reference kernels and
#   the arm64 ones the CPU model has) under all three CPU models.
# Installs the arm64 packages first (scripts/setup.sh --arm64; needs root or sudo the first time).
# Exits non-zero on any failure. Correctness only: qemu timings mean nothing.
#   ARM_FULL_BUILD_DIR (default build-arm64-full), QEMU (default qemu-aarch64), JOBS (default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${ARM_FULL_BUILD_DIR:-build-arm64-full}
QEMU=${QEMU:-qemu-aarch64}
JOBS=${JOBS:-$(nproc)}
DATA=tests/data/zoo/bert-tiny/test_data_set_0

scripts/setup.sh --arm64
start=$SECONDS
cmake -S . -B "$BUILD_DIR" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=Release \
  -DORTKIT_BUILD_TESTS=ON >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS" --target ort-bench ort-quantize ort-cpuinfo test_lib
echo "== arm64 build: $((SECONDS - start)) s"

# The arm64 shared libraries (protobuf, fmt, hwloc, onnx) are in /usr/lib/aarch64-linux-gnu, outside
# qemu's -L sysroot. The sysroot's own lib/ comes first: its libc must match the cross ld.so that -L
# provides. Mixing that ld.so with multiarch libc6:arm64 (a newer Debian revision, found through the
# host's ld.so.cache) deadlocks every multi-threaded program.
run() {  # run [NAME=VALUE...] CPU-MODEL APP ARGS...: the settings go into APP's environment
  local vars=()
  while [[ $1 =~ ^[A-Z_][A-Z0-9_]*= ]]; do
    vars+=("$1")
    shift
  done
  local cpu=$1 app=$2
  shift 2
  env "${vars[@]}" LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib:/usr/lib/aarch64-linux-gnu "$QEMU" \
    -L /usr/aarch64-linux-gnu -cpu "$cpu" "$BUILD_DIR/apps/$app" "$@"
}

status=0
check() {  # check DESCRIPTION CMD...: runs CMD, prints its output, records a failure
  local what=$1
  shift
  echo "== $what"
  if ! "$@"; then
    echo "FAILED: $what"
    status=1
  fi
}

cpu=max,sve256=on
check "ort-cpuinfo (-cpu $cpu)" run "$cpu" ort-cpuinfo
check "ort-bench bert-tiny fp32,bf16,int8 (-cpu $cpu)" run "$cpu" ort-bench --model bert-tiny --seq 8 \
  --precision fp32,bf16,int8 --threads 1,2 --iterations 3 --warmup 1
for cpu in max,sve256=on neoverse-n1 cortex-a72; do
  check "verify bert-tiny fp32 (-cpu $cpu)" run "$cpu" ort-bench verify bert-tiny "$DATA" --precision fp32 \
    --rtol 1e-3 --atol 1e-4
done
cpu=max,sve256=on
check "verify bert-tiny bf16 (-cpu $cpu)" run "$cpu" ort-bench verify bert-tiny "$DATA" --precision bf16 \
  --rtol 1e-2 --atol 2e-3
# --precision int8 does not quantize a float model (docs/int8-engine.md): quantize it, then verify that.
int8_model="$BUILD_DIR/bert-tiny-int8.onnx"
check "ort-quantize bert-tiny (-cpu $cpu)" run "$cpu" ort-quantize bert-tiny -o "$int8_model"
for cpu in max,sve256=on neoverse-n1 cortex-a72; do
  check "verify bert-tiny int8 model (-cpu $cpu)" run "$cpu" ort-bench verify "$int8_model" "$DATA" \
    --precision int8 --rtol 2e-2 --atol 5e-3
done
# The conv forms on arm64's GEMM kernels (panel widths differ from x86's): resnet-tiny with every 3x3
# stride-1 conv forced to Winograd, and with the automatic choice.
RESNET_DATA=tests/data/zoo/resnet-tiny/test_data_set_0
for cpu in max,sve256=on neoverse-n1 cortex-a72; do
  check "verify resnet-tiny fp32, Winograd forced (-cpu $cpu)" run ORTKIT_CONV_FORM=winograd "$cpu" \
    ort-bench verify resnet-tiny "$RESNET_DATA" --precision fp32 --rtol 1e-3 --atol 1e-4
done
check "verify resnet-tiny fp32 (-cpu neoverse-n1)" run neoverse-n1 ort-bench verify resnet-tiny "$RESNET_DATA" \
  --precision fp32 --rtol 1e-3 --atol 1e-4
# The library's unit tests. Tests that need a peer (ONNX Runtime, torch) or an x86 feature skip themselves.
for cpu in max,sve256=on neoverse-n1 cortex-a72; do
  check "test_lib (-cpu $cpu)" env LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib:/usr/lib/aarch64-linux-gnu \
    "$QEMU" -L /usr/aarch64-linux-gnu -cpu "$cpu" "$BUILD_DIR/tests/test_lib"
done
echo "== total: $((SECONDS - start)) s"
exit $status
