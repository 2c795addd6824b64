# The ai.onnx.ml tree ensembles and LabelEncoder and the string ops, against ONNX Runtime
# (scripts/ml_ops_check.py; sklearn-onnx conversions too when scikit-learn and skl2onnx are installed).
# Skips (exit 77) without a Python that has onnxruntime (.venv in the repo root or $ORTKIT_PYTHON).
set(_ml_py ${ORTKIT_PEER_PYTHON})  # tests/CMakeLists.txt
if(_ml_py)
  add_test(NAME peers:ml_ops_vs_ort
           COMMAND ${_ml_py} ${CMAKE_SOURCE_DIR}/scripts/ml_ops_check.py $<TARGET_FILE:ort-bench>
                   ${CMAKE_CURRENT_BINARY_DIR}/ml_ops)
  set_tests_properties(peers:ml_ops_vs_ort PROPERTIES SKIP_RETURN_CODE 77 LABELS "engine;peers" TIMEOUT 300)
endif()
