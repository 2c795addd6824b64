#!/usr/bin/env bash
# Time oneDNN and OpenBLAS at the ort-bench gemm shapes with 1 and 2 threads; CSV on stdout:
#   library,precision,m,n,k,threads,median_wall_s,gops_wall,median_cpu_s,gops_cpu
# Usage: scripts/peer_gemm/run.sh [THREADS=1,2] [REPEATS=11] [shapes...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$("$here/build.sh")"
threads="${1:-1,2}"; repeats="${2:-11}"; shift $(( $# > 2 ? 2 : $# ))
shapes=("$@")
[[ ${#shapes[@]} -gt 0 ]] || shapes=(128x768x768 128x3072x768 128x768x3072 512x1024x1024 32x768x768 1x768x768 8x768x3072)
echo "library,precision,m,n,k,threads,median_wall_s,gops_wall,median_cpu_s,gops_cpu"
for t in ${threads//,/ }; do
  OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t OMP_WAIT_POLICY=passive "$bin" "$t" "$repeats" "${shapes[@]}"
done
