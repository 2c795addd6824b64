#!/usr/bin/env bash
# Interleaved A/B: for each shape and round, `ort-bench gemm` and peer_gemm (oneDNN, OpenBLAS) back to
# back, in alternating order, so both see the same machine state; then one markdown table of medians over
# rounds (ours vs peak vs oneDNN).
# Usage: scripts/peer_gemm/ab.sh OUT_DIR [ROUNDS=3] [CLOCK=cpu] [THREADS=1,2] [shapes...]
# COLD_B=1: both sides read B from memory, a ring of copies (`ort-bench gemm --cold-b`), as in a decode step;
# the last column then holds the DRAM read bandwidth.
# ISA=avx512|avx512vnni|avx512bf16|amx: both sides capped to that instruction set (ours through
# ORTKIT_MAX_ISA, oneDNN through DNNL_MAX_CPU_ISA), e.g. ISA=avx512bf16 on an AMX machine times the AVX-512
# kernels that a CPU without AMX runs, against oneDNN's kernels for that CPU, on the same box.
# bf16 (ours rounds fp32 A) is compared twice: with oneDNN given bf16 A, and given fp32 A (reorder + matmul,
# the same work); bf16a (ours given bf16 A) with oneDNN given bf16 A (the same inputs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:?usage: ab.sh OUT_DIR [ROUNDS] [CLOCK] [THREADS] [shapes...]}"
rounds="${2:-3}"; clock="${3:-cpu}"; threads="${4:-1,2}"; shift $(( $# > 4 ? 4 : $# ))
shapes=("$@")
[[ ${#shapes[@]} -gt 0 ]] || shapes=(128x768x768 128x3072x768 128x768x3072 512x1024x1024 32x768x768 1x768x768 8x768x3072)
bench="${ORT_BENCH:-$root/build/apps/ort-bench}"
cap=()
if [[ -n ${ISA:-} ]]; then
  # oneDNN 2.6 runs no bf16 matmul below AVX-512 (it throws), and peer_gemm times every precision.
  case $ISA in
    avx512) dnnl=AVX512_CORE ;;
    avx512vnni) dnnl=AVX512_CORE_VNNI ;;
    avx512bf16) dnnl=AVX512_CORE_BF16 ;;
    amx) dnnl=AVX512_CORE_AMX ;;
    *) echo "ab.sh: ISA=$ISA is not one of avx512, avx512vnni, avx512bf16, amx (oneDNN's bf16 matmul needs AVX-512)" >&2
       exit 2 ;;
  esac
  cap=(ORTKIT_MAX_ISA="$ISA" DNNL_MAX_CPU_ISA="$dnnl" ONEDNN_MAX_CPU_ISA="$dnnl")
fi
# PEER_GEMM: a peer_gemm built elsewhere (a machine without oneDNN's headers); PEER_GEMM_BIN: where to build it
peer="${PEER_GEMM:-$("$here/build.sh" ${PEER_GEMM_BIN:+"$PEER_GEMM_BIN"})}"
cold=(); [[ ${COLD_B:-0} == 1 ]] && cold=(--cold-b)
mkdir -p "$out"
for r in $(seq 1 "$rounds"); do
  for s in "${shapes[@]}"; do
    for t in ${threads//,/ }; do
      ours() {
        env "${cap[@]}" "$bench" gemm --shape "$s" --precision fp32,bf16,bf16a,int8 --threads "$t" --repeats 7 --clock "$clock" "${cold[@]}" \
          --csv "$out/ours_${s}_t${t}_r${r}.csv" > /dev/null 2>&1
      }
      # Passive OpenMP threads sleep between calls: right for the CPU clock on a loaded box (spinning
      # would steal the cores), unfair on the wall clock, where oneDNN runs with GOMP's default spin.
      policy=(); [[ $clock == cpu ]] && policy=(OMP_WAIT_POLICY=passive)
      peer_run() {
        env "${policy[@]}" "${cap[@]}" OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t "$peer" "$t" 7 "${cold[@]}" "$s" > "$out/peer_${s}_t${t}_r${r}.csv"
      }
      # Odd rounds run ours first, even rounds the peer first, so neither side always gets the state
      # the other leaves behind (caches, clocks, the box's slow or fast level).
      if (( r % 2 )); then ours; peer_run; else peer_run; ours; fi
    done
  done
done
[[ ${#cap[@]} -gt 0 ]] && echo "Both sides capped: ortkit ORTKIT_MAX_ISA=$ISA, oneDNN DNNL_MAX_CPU_ISA=$dnnl"
python3 "$here/summarize.py" "$out" "$clock"
