# ort-bench command-line behaviour that needs no engine: bad input gives a clear message, exit 2 and no
# report file; `compare` exit codes 0 / 1 / 2 on fixture reports. Each test runs the binary through a small
# cmake -P script that checks the exit code exactly, a regular expression on stdout+stderr, and that no
# report file was left behind.
set(_bc_dir ${CMAKE_CURRENT_BINARY_DIR}/bench_cli)
file(MAKE_DIRECTORY ${_bc_dir})
file(WRITE ${_bc_dir}/check.cmake [=[
string(REPLACE "@@" ";" _args "${ARGS}")
execute_process(COMMAND ${EXE} ${_args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                WORKING_DIRECTORY ${WORKDIR})
set(all "${out}${err}")
if(NOT "${rc}" STREQUAL "${RC}")
  message(FATAL_ERROR "exit code ${rc}, expected ${RC}\n${all}")
endif()
if(NOT "${all}" MATCHES "${RE}")
  message(FATAL_ERROR "output does not match '${RE}':\n${all}")
endif()
if(NOFILE AND EXISTS "${NOFILE}")
  file(REMOVE "${NOFILE}")
  message(FATAL_ERROR "a report was left behind: ${NOFILE}")
endif()
]=])

# Fixture reports: a baseline, the same point 50% slower, one with another point, a malformed one and a
# report of an unknown schema version.
function(_bc_report file p50 lo hi threads)
  math(EXPR _qps "1000 / ${p50}")
  file(WRITE ${_bc_dir}/${file} "{\"schema_version\": 1, \"tool\": \"ort-bench\", \"complete\": true,
 \"points\": [{\"model\": \"bert-tiny\", \"precision\": \"fp32\", \"batch\": 1, \"seq\": 32, \"threads\": ${threads},
  \"status\": \"ok\", \"reason\": \"\", \"stats\": {\"p50_ms\": ${p50}, \"mean_ms\": ${p50}, \"p99_ms\": ${p50},
  \"qps\": ${_qps}, \"ci95_median_ms\": [${lo}, ${hi}]}}]}\n")
endfunction()
_bc_report(base.json 10 9.5 10.5 1)
_bc_report(slow.json 15 14.5 15.5 1)
_bc_report(other.json 10 9.5 10.5 2)
file(WRITE ${_bc_dir}/malformed.json "{\"schema_version\": 1, \"points\": [")
file(WRITE ${_bc_dir}/v99.json "{\"schema_version\": 99, \"points\": []}")
file(WRITE ${_bc_dir}/empty.onnx "")
file(WRITE ${_bc_dir}/bad_config.json "{\"models\": [\"bert-tiny\"], \"iteratoins\": 5}")
file(WRITE ${_bc_dir}/broken_config.json "{\"models\": ")

function(bench_cli_test name rc re)
  cmake_parse_arguments(T "" "NOFILE" "ARGS" ${ARGN})
  string(REPLACE ";" "@@" _args "${T_ARGS}")
  add_test(NAME cli:ort-bench:${name}
           COMMAND ${CMAKE_COMMAND} -DEXE=$<TARGET_FILE:ort-bench> -DRC=${rc} "-DRE=${re}" "-DARGS=${_args}"
                   -DNOFILE=${T_NOFILE} -DWORKDIR=${_bc_dir} -P ${_bc_dir}/check.cmake)
  set_tests_properties(cli:ort-bench:${name} PROPERTIES LABELS cli)
endfunction()

bench_cli_test(help 0 "compare" ARGS --help)
bench_cli_test(run-help 0 "--precision" ARGS run --help)
bench_cli_test(no-model 2 "no model given" ARGS run)
bench_cli_test(unknown-precision 2 "unknown precision 'fp64'" ARGS run --model empty.onnx --precision fp32,fp64)
bench_cli_test(empty-batch 2 "--batch: empty list" ARGS run --model empty.onnx --batch ,)
bench_cli_test(empty-threads 2 "range '3..1' is empty" ARGS run --model empty.onnx --threads 3..1)
bench_cli_test(bad-duration 2 "not a duration" ARGS run --model empty.onnx --duration soon)
bench_cli_test(bad-padding 2 "--padding" ARGS run --model empty.onnx --padding 1.5)
bench_cli_test(missing-model 2 "model 'no/such.onnx'.*no such file" ARGS run --model no/such.onnx)
# --model takes a comma list like the other list flags: each name is checked on its own.
bench_cli_test(model-comma-list 2 "model 'no/such.onnx'.*no such file" ARGS run --model empty.onnx,no/such.onnx)
bench_cli_test(model-comma-list-runs 0 "bert-tiny .*mobilenet-tiny " ARGS run --model bert-tiny,mobilenet-tiny
               --iterations 2 --warmup 0)
# `run` is the default verb.
bench_cli_test(default-verb 2 "model 'no/such.onnx'.*no such file" ARGS --model no/such.onnx)
bench_cli_test(unwritable-json 2 "no/dir/r.json: cannot write" ARGS --model empty.onnx --json no/dir/r.json)
bench_cli_test(unwritable-csv 2 "cannot write" ARGS --model empty.onnx --csv /proc/r.csv)
# A model that cannot be opened fails before measuring and leaves no report behind.
bench_cli_test(unopenable-model 2 "error: .*empty.onnx" ARGS --model empty.onnx --json left.json
               NOFILE ${_bc_dir}/left.json)
bench_cli_test(config-unknown-key 2 "\"iteratoins\": unknown key" ARGS --config bad_config.json)
bench_cli_test(config-malformed 2 "malformed JSON" ARGS --config broken_config.json)
bench_cli_test(config-missing 2 "cannot open config file" ARGS --config none.json)
# The command line wins over the config: a bad --precision is reported even though the config is fine.
bench_cli_test(cli-overrides-config 2 "unknown precision 'int4'"
               ARGS --config ${CMAKE_SOURCE_DIR}/configs/ci-gate.json --precision int4)

bench_cli_test(compare-self 0 "unchanged.*no significant regression" ARGS compare base.json base.json)
bench_cli_test(compare-slower 1 "regressed.*- bert-tiny fp32 b1 s32 t1" ARGS compare base.json slow.json)
bench_cli_test(compare-faster 0 "improved" ARGS compare slow.json base.json --threshold 10%)
bench_cli_test(compare-threshold 0 "unchanged" ARGS compare base.json slow.json --threshold 60%)
bench_cli_test(compare-qps 1 "regressed" ARGS compare base.json slow.json --metric qps)
bench_cli_test(compare-missing-point 2 "t1' is in the baseline but not in the current" ARGS compare base.json other.json)
bench_cli_test(compare-malformed 2 "malformed.json: malformed JSON" ARGS compare base.json malformed.json)
bench_cli_test(compare-schema 2 "schema_version 99 is not supported" ARGS compare v99.json base.json)
bench_cli_test(compare-no-file 2 "cannot open report" ARGS compare base.json nothing.json)
bench_cli_test(compare-bad-metric 2 "metric" ARGS compare base.json base.json --metric p42)
bench_cli_test(compare-bad-threshold 2 "not a percentage" ARGS compare base.json base.json --threshold lots)

# --past: a tiny decoder step with a KV cache (built in code by tests/lib/test_bench_past.cpp, which a
# fixture runs to write it into the build tree) swept over past 0 and 4; the JSON report holds both
# points, measured, and the settings name the sweep.
add_test(NAME bench:make-kv-past-model
         COMMAND ${CMAKE_COMMAND} -E env ORTKIT_KV_PAST_MODEL=${_bc_dir}/kv_past_tiny.onnx
                 $<TARGET_FILE:test_lib> "bench past: a real decoder step runs with past 0 and 7")
set_tests_properties(bench:make-kv-past-model PROPERTIES FIXTURES_SETUP kv_past_model LABELS cli)
file(WRITE ${_bc_dir}/check_past.cmake [=[
file(REMOVE ${WORKDIR}/past.json)
execute_process(COMMAND ${EXE} run --model ${MODEL} --seq 1 --past 0,4 -n 3 --warmup 0 -q --json past.json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err WORKING_DIRECTORY ${WORKDIR})
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "exit code ${rc}\n${out}${err}")
endif()
file(READ ${WORKDIR}/past.json j)
string(JSON n LENGTH "${j}" points)
if(NOT n EQUAL 2)
  message(FATAL_ERROR "expected 2 points, got ${n}")
endif()
foreach(i 0 1)
  string(JSON past GET "${j}" points ${i} past)
  string(JSON status GET "${j}" points ${i} status)
  string(JSON reason GET "${j}" points ${i} reason)
  list(APPEND pasts ${past})
  if(NOT status STREQUAL "ok")
    message(FATAL_ERROR "point ${i} (past ${past}): ${status}: ${reason}")
  endif()
endforeach()
if(NOT pasts STREQUAL "0;4")
  message(FATAL_ERROR "past values ${pasts}, expected 0 and 4")
endif()
string(JSON settings GET "${j}" context settings past)
string(JSON s1 GET "${j}" context settings past 1)
if(NOT s1 EQUAL 4)
  message(FATAL_ERROR "settings.past is ${settings}")
endif()
]=])
add_test(NAME cli:ort-bench:past-sweep
         COMMAND ${CMAKE_COMMAND} -DEXE=$<TARGET_FILE:ort-bench> -DMODEL=${_bc_dir}/kv_past_tiny.onnx
                 -DWORKDIR=${_bc_dir} -P ${_bc_dir}/check_past.cmake)
set_tests_properties(cli:ort-bench:past-sweep PROPERTIES LABELS cli FIXTURES_REQUIRED kv_past_model)
bench_cli_test(past-negative 2 "--past: values must be >= 0" ARGS run --model empty.onnx --past 0,-1)

# bf16 fast math with no bf16 kernel left (ORTKIT_MAX_ISA=avx2 caps AVX512_BF16 away) runs the SIMD f32
# kernel instead of the scalar reference, and the report's notes say so.
if(ORTKIT_ARCH STREQUAL "x86_64")
  file(WRITE ${_bc_dir}/check_bf16_fallback.cmake [=[
file(REMOVE ${WORKDIR}/bf16.json)
execute_process(COMMAND ${CMAKE_COMMAND} -E env ORTKIT_MAX_ISA=avx2
                        ${EXE} run --model bert-tiny --precision bf16 --seq 8 -n 2 --warmup 0 -q --json bf16.json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err WORKING_DIRECTORY ${WORKDIR})
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "exit code ${rc}\n${out}${err}")
endif()
file(READ ${WORKDIR}/bf16.json j)
string(JSON kernel GET "${j}" points 0 kernels 0)
string(JSON notes GET "${j}" points 0 notes)
if(NOT kernel STREQUAL "gemm_f32_avx2_6x16")
  message(FATAL_ERROR "bf16 under ORTKIT_MAX_ISA=avx2 ran ${kernel}, expected gemm_f32_avx2_6x16")
endif()
if(NOT notes MATCHES "bf16 fast math runs fp32 kernels here: no bf16 kernel")
  message(FATAL_ERROR "the notes do not say why: ${notes}")
endif()
]=])
  add_test(NAME cli:ort-bench:bf16-fallback
           COMMAND ${CMAKE_COMMAND} -DEXE=$<TARGET_FILE:ort-bench> -DWORKDIR=${_bc_dir}
                   -P ${_bc_dir}/check_bf16_fallback.cmake)
  set_tests_properties(cli:ort-bench:bf16-fallback PROPERTIES LABELS cli
                       ENVIRONMENT "ORTKIT_CACHE_DIR=${CMAKE_BINARY_DIR}/zoo-cache")
endif()

# --profile: the op-type and slowest-node tables follow the point's row.
bench_cli_test(profile 0 "profile: bert-tiny fp32 b1 s8 t1: 3 runs.*op type.*slowest nodes"
               ARGS run --model bert-tiny --seq 8 -n 3 --warmup 0 --profile)
set_tests_properties(cli:ort-bench:profile PROPERTIES ENVIRONMENT "ORTKIT_CACHE_DIR=${CMAKE_BINARY_DIR}/zoo-cache")
