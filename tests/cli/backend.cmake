# ONNX backend conformance: every node test whose ops the engine claims must pass.
add_executable(onnx_backend_tests ${CMAKE_CURRENT_SOURCE_DIR}/backend/backend_main.cpp)
target_link_libraries(onnx_backend_tests PRIVATE ortkit)
target_include_directories(onnx_backend_tests PRIVATE ${CMAKE_SOURCE_DIR}/lib)
add_test(NAME backend:onnx_node_tests COMMAND onnx_backend_tests)
set_tests_properties(backend:onnx_node_tests PROPERTIES LABELS backend TIMEOUT 300)
# The suite's model-level cases: PyTorch exports of whole modules and operators (opset 6, with the
# legacy broadcast attributes) and small hand-built graphs. Each skips cleanly without the data.
foreach(_suite pytorch-converted pytorch-operator simple)
  add_test(NAME backend:onnx_${_suite}_tests
           COMMAND onnx_backend_tests /usr/include/onnx/backend/test/data/${_suite})
  set_tests_properties(backend:onnx_${_suite}_tests PROPERTIES LABELS backend TIMEOUT 300)
endforeach()

# The node tests of the onnx package on PyPI (newer opsets than Debian's data: Attention, RMS norms,
# float8 casts...), generated offline from its reference implementation into the build tree, and the
# nine "light" CNNs it ships (AlexNet ... ZFNet-512) with their stored outputs. Skips
# (77) without a Python that has onnx: .venv in the repo root or $ORTKIT_PYTHON.
# Only a venv or $ORTKIT_PYTHON: the system python3 may carry an older onnx (Debian's 1.12).
set(_node_py ${ORTKIT_VENV_PYTHON})  # tests/CMakeLists.txt
if(_node_py)
  set(_pypi_dir ${CMAKE_CURRENT_BINARY_DIR}/onnx_pypi_tests)
  add_test(NAME backend:onnx_pypi_node_tests
           COMMAND sh -c "'${_node_py}' '${CMAKE_SOURCE_DIR}/scripts/gen_onnx_node_tests.py' '${_pypi_dir}' || exit $?; '$<TARGET_FILE:onnx_backend_tests>' '${_pypi_dir}/node' && '$<TARGET_FILE:onnx_backend_tests>' '${_pypi_dir}/light'")
  set_tests_properties(backend:onnx_pypi_node_tests PROPERTIES LABELS "backend;peers" SKIP_RETURN_CODE 77
                                                                TIMEOUT 300)
  # The narrow element types against the same reference, more widely than the suite: Cast between each
  # of them and every other type (saturate on and off), QuantizeLinear / DequantizeLinear per tensor,
  # per axis and blocked, bit for bit.
  set(_narrow_dir ${CMAKE_CURRENT_BINARY_DIR}/onnx_narrow_type_tests)
  add_test(NAME backend:onnx_narrow_type_tests
           COMMAND sh -c "'${_node_py}' '${CMAKE_SOURCE_DIR}/scripts/gen_narrow_type_tests.py' '${_narrow_dir}' || exit $?; '$<TARGET_FILE:onnx_backend_tests>' '${_narrow_dir}'")
  set_tests_properties(backend:onnx_narrow_type_tests PROPERTIES LABELS "backend;peers" SKIP_RETURN_CODE 77
                                                                 TIMEOUT 120)
endif()

# ort-bench verify against an ONNX test_data_set: PASS exits 0; a mismatch (zero tolerance on a result
# with fp32 rounding differences) exits 1 and says FAIL; --save-outputs writes output_N.pb.
set(_node_dir /usr/include/onnx/backend/test/data/node)
if(EXISTS ${_node_dir}/test_gemm_all_attributes/model.onnx)
  set(_case ${_node_dir}/test_gemm_all_attributes)
  add_test(NAME cli:verify_pass COMMAND ort-bench verify ${_case}/model.onnx ${_case}/test_data_set_0)
  set_tests_properties(cli:verify_pass PROPERTIES PASS_REGULAR_EXPRESSION "max_abs_err.*PASS")
  add_test(NAME cli:verify_mismatch_fails
           COMMAND ort-bench verify ${_case}/model.onnx ${_case} --rtol 0 --atol 0)
  set_tests_properties(cli:verify_mismatch_fails PROPERTIES WILL_FAIL TRUE)
  set(_out ${CMAKE_CURRENT_BINARY_DIR}/verify_out)
  add_test(NAME cli:verify_save_outputs
           COMMAND sh -c "rm -rf '${_out}' && '$<TARGET_FILE:ort-bench>' verify '${_case}/model.onnx' \
'${_case}/test_data_set_0' --save-outputs '${_out}' && test -s '${_out}/output_0.pb'")
  add_test(NAME cli:verify_missing_model COMMAND ort-bench verify /nonexistent.onnx ${_case})
  set_tests_properties(cli:verify_missing_model PROPERTIES WILL_FAIL TRUE)
endif()
