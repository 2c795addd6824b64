# ONNX backend conformance: every node test whose ops the engine claims must pass.
add_executable(onnx_backend_tests ${CMAKE_CURRENT_SOURCE_DIR}/backend/backend_main.cpp)
target_link_libraries(onnx_backend_tests PRIVATE ortkit)
target_include_directories(onnx_backend_tests PRIVATE ${CMAKE_SOURCE_DIR}/lib)
add_test(NAME backend:onnx_node_tests COMMAND onnx_backend_tests)
set_tests_properties(backend:onnx_node_tests PROPERTIES LABELS backend TIMEOUT 300)
