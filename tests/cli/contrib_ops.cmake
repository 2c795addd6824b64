# ONNX Runtime's transformer-optimizer ops (com.microsoft Attention, SkipLayerNormalization, ...) and the
# torch exports after its optimizer, against ONNX Runtime / torch. Skips (exit 77) without a Python that
# has onnxruntime (.venv in the repo root or $ORTKIT_PYTHON), or without the PyTorch exports
# (ORTKIT_TORCH_EXPORTS, tests/CMakeLists.txt).
set(_contrib_py ${ORTKIT_PEER_PYTHON})  # tests/CMakeLists.txt
if(_contrib_py)
  add_test(NAME contrib:ort_transformer_ops
           COMMAND ${_contrib_py} ${CMAKE_SOURCE_DIR}/scripts/contrib_ops_check.py $<TARGET_FILE:ort-bench>
                   ${CMAKE_CURRENT_BINARY_DIR}/contrib_ops)
  set_tests_properties(contrib:ort_transformer_ops PROPERTIES SKIP_RETURN_CODE 77 LABELS "engine;peers" TIMEOUT 300
                       ENVIRONMENT "ORTKIT_TORCH_EXPORTS=${ORTKIT_TORCH_EXPORTS}")
endif()
