# ONNX Runtime's quantize_dynamic output runs in ortkit (fused int8 path) and matches ONNX Runtime.
# Skips (exit 77) without a Python that has onnxruntime: .venv in the repo root or $ORTKIT_PYTHON.
set(_int8_py ${ORTKIT_PEER_PYTHON})  # tests/CMakeLists.txt
if(_int8_py)
  foreach(_mode per_tensor per_channel)
    set(_flag "")
    if(_mode STREQUAL per_channel)
      set(_flag --per-channel)
    endif()
    add_test(NAME int8:ort_quantize_dynamic_${_mode}
             COMMAND ${_int8_py} ${CMAKE_SOURCE_DIR}/scripts/int8_ort_check.py $<TARGET_FILE:ort-bench>
                     ${CMAKE_CURRENT_BINARY_DIR}/int8_ort_${_mode} ${_flag})
    set_tests_properties(int8:ort_quantize_dynamic_${_mode} PROPERTIES SKIP_RETURN_CODE 77 LABELS int8 TIMEOUT 120)
  endforeach()
endif()
