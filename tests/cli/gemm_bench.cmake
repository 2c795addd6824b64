# ort-bench gemm end to end: a tiny shape, JSON + CSV written; a bad shape fails with exit code 2.
add_test(NAME cli:gemm_bench_runs
         COMMAND ort-bench gemm --shape 2x33x17 --precision fp32,int8 --threads 1 --repeats 2
                 --json ${CMAKE_BINARY_DIR}/gemm_bench_test.json --csv ${CMAKE_BINARY_DIR}/gemm_bench_test.csv)
add_test(NAME cli:gemm_bench_bad_shape COMMAND ort-bench gemm --shape 2x33)
set_tests_properties(cli:gemm_bench_bad_shape PROPERTIES WILL_FAIL TRUE)
# --cold-b: B read from a ring of copies; the table then compares its stream with the DRAM read.
add_test(NAME cli:gemm_bench_cold_b COMMAND ort-bench gemm --shape 1x256x512 --precision bf16 --repeats 2 --cold-b)
set_tests_properties(cli:gemm_bench_cold_b PROPERTIES PASS_REGULAR_EXPRESSION "dram GB/s")
