# The zoo against ONNX Runtime. zoo_dump exposes the zoo to the Python scripts; zoo_vs_ort.py builds
# every tiny zoo model, runs it in ONNX Runtime and in our engine (ort-bench verify) and checks the
# outputs agree. The script exits 77 (skip) when no Python with onnxruntime is found, or while
# `ort-bench verify` is still a placeholder.
add_executable(zoo_dump ${CMAKE_CURRENT_LIST_DIR}/zoo_dump.cpp)
target_link_libraries(zoo_dump PRIVATE ortkit)

find_package(Python3 QUIET COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  add_test(NAME zoo:vs_onnxruntime
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/scripts/zoo_vs_ort.py
                   --zoo-dump $<TARGET_FILE:zoo_dump> --ort-bench $<TARGET_FILE:ort-bench>)
  set_tests_properties(zoo:vs_onnxruntime PROPERTIES LABELS "zoo;peers" TIMEOUT 300 SKIP_RETURN_CODE 77)
  # The peer timing script's own smoke test: one tiny point, ORT side only when ours cannot run yet.
  add_test(NAME zoo:peer_ort_smoke
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/scripts/peer_ort.py bert-tiny --batch 1 --seq 8
                   --threads 1 --warmup 1 --iterations 3 --repeats 1
                   --zoo-dump $<TARGET_FILE:zoo_dump> --ort-bench $<TARGET_FILE:ort-bench>)
  set_tests_properties(zoo:peer_ort_smoke PROPERTIES LABELS "zoo;peers" TIMEOUT 300 SKIP_RETURN_CODE 77
                       ENVIRONMENT "ORTKIT_CACHE_DIR=${CMAKE_BINARY_DIR}/zoo-cache")
endif()
