#!/usr/bin/env bash
# Build peer_gemm against whatever of oneDNN / OpenBLAS is installed (each one optional).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../../build/peer_gemm}"
flags=() libs=()
if [[ -f /usr/include/oneapi/dnnl/dnnl.hpp ]]; then flags+=(-DHAVE_DNNL); libs+=(-ldnnl); fi
if [[ -f /usr/include/x86_64-linux-gnu/cblas.h || -f /usr/include/cblas.h ]] && ldconfig -p 2>/dev/null | grep libopenblas >/dev/null; then
  flags+=(-DHAVE_OPENBLAS); libs+=(-lopenblas)
fi
if [[ ${#flags[@]} -eq 0 ]]; then echo "peer_gemm: neither oneDNN nor OpenBLAS is installed" >&2; exit 1; fi
mkdir -p "$(dirname "$out")"
# Linked to a private name, then renamed over $out: callers building the same path at once (ctest -j runs
# two ab.sh tests together) must never run a half-written binary ("Permission denied" from env).
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
g++ -O2 -std=c++17 "${flags[@]}" "$here/peer_gemm.cpp" -o "$tmp" "${libs[@]}"
mv -f "$tmp" "$out"
echo "$out"
