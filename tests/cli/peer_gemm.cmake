# scripts/peer_gemm end to end at a tiny shape: four interleaved rounds of ort-bench gemm and oneDNN (each
# side first in two of them), then the table, whose bf16 row must carry both oneDNN columns (bf16 A, and
# fp32 A through a reorder) with the quartiles of the per-round ratios, the bf16a row (ours given bf16 A)
# the bf16 A one, and the lead/parity/loss count.
# Skips (77) where the peers are not installed (scripts/setup.sh --peers installs them).
add_test(NAME cli:peer_gemm_table
         COMMAND bash -c "[[ -f /usr/include/oneapi/dnnl/dnnl.hpp ]] || exit 77; \
ORT_BENCH=$<TARGET_FILE:ort-bench> PEER_GEMM_BIN=${CMAKE_BINARY_DIR}/peer_gemm \
${CMAKE_SOURCE_DIR}/scripts/peer_gemm/ab.sh ${CMAKE_BINARY_DIR}/peer_gemm_ab 4 wall 1 16x48x40")
set_tests_properties(cli:peer_gemm_table PROPERTIES SKIP_RETURN_CODE 77
  PASS_REGULAR_EXPRESSION "\\| 16x48x40 \\| bf16 \\| 1 \\| [a-z0-9_]+ \\| [0-9]+ \\| [0-9]+% \\| [0-9]+ \\| \
[0-9.]+x \\[[0-9.]+-[0-9.]+\\] \\| [0-9]+ \\| [0-9.]+x \\[[0-9.]+-[0-9.]+\\] \\|.*\
\\| 16x48x40 \\| bf16a \\| 1 \\| [a-z0-9_]+ \\| [0-9]+ \\| [0-9]+% \\| [0-9]+ \\| [0-9.]+x \\[[0-9.]+-[0-9.]+\\] \\| - \\| - \\|.*\
int8 vs onednn_matmul: [0-9]+ lead, [0-9]+ parity, [0-9]+ loss")
# COLD_B=1: both sides read B from a ring of copies; the table's last column is the DRAM read.
add_test(NAME cli:peer_gemm_cold_b
         COMMAND bash -c "[[ -f /usr/include/oneapi/dnnl/dnnl.hpp ]] || exit 77; \
COLD_B=1 ORT_BENCH=$<TARGET_FILE:ort-bench> PEER_GEMM_BIN=${CMAKE_BINARY_DIR}/peer_gemm \
${CMAKE_SOURCE_DIR}/scripts/peer_gemm/ab.sh ${CMAKE_BINARY_DIR}/peer_gemm_ab_cold 2 wall 1 1x256x512")
set_tests_properties(cli:peer_gemm_cold_b PROPERTIES SKIP_RETURN_CODE 77
  PASS_REGULAR_EXPRESSION "B GB/s \\(dram GB/s\\).*\\| 1x256x512 \\| int8 \\| 1 \\| [a-z0-9_]+ \\| [0-9]+ \\| [0-9]+% \\| [0-9]+ \\| [0-9.]+x")
# ISA=avx512vnni: both sides capped (ours runs the VNNI kernel for int8 even on an AMX host) and the table
# says so; an ISA oneDNN cannot be compared at is refused with exit 2 before anything runs.
add_test(NAME cli:peer_gemm_isa_cap
         COMMAND bash -c "[[ -f /usr/include/oneapi/dnnl/dnnl.hpp ]] && grep -qw avx512_vnni /proc/cpuinfo || exit 77; \
ISA=avx2 ${CMAKE_SOURCE_DIR}/scripts/peer_gemm/ab.sh ${CMAKE_BINARY_DIR}/peer_gemm_ab_cap 1 wall 1 16x48x40; \
[[ $? == 2 ]] || exit 1; \
ISA=avx512vnni ORT_BENCH=$<TARGET_FILE:ort-bench> PEER_GEMM_BIN=${CMAKE_BINARY_DIR}/peer_gemm \
${CMAKE_SOURCE_DIR}/scripts/peer_gemm/ab.sh ${CMAKE_BINARY_DIR}/peer_gemm_ab_cap 1 wall 1 16x48x40")
set_tests_properties(cli:peer_gemm_isa_cap PROPERTIES SKIP_RETURN_CODE 77
  PASS_REGULAR_EXPRESSION "not one of avx512.*Both sides capped: ortkit ORTKIT_MAX_ISA=avx512vnni, oneDNN \
DNNL_MAX_CPU_ISA=AVX512_CORE_VNNI.*\\| 16x48x40 \\| int8 \\| 1 \\| gemm_u8s8_avx512vnni_14x32c4 \\| [0-9]+ \\| [0-9]+% \\| [0-9]+ \\| [0-9.]+x")
