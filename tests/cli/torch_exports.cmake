# The tiny PyTorch exports (built into ORTKIT_TORCH_EXPORTS, tests/CMakeLists.txt) must give torch's own
# outputs through `ort-bench verify`.
if(NOT ORTKIT_TORCH_EXPORTS)  # tests/CMakeLists.txt: no python3-torch
  return()
endif()
foreach(_m bert_tiny roberta_tiny distilbert_tiny gpt2_tiny resnet_tiny resnet_tiny_bn mobilenet_tiny
           bert_tiny_functions list_loop_tiny)
  set(_d ${ORTKIT_TORCH_EXPORTS}/${_m})
  add_test(NAME torch_export:${_m}
           COMMAND $<TARGET_FILE:ort-bench> verify ${_d}/model.onnx ${_d}/test_data_set_0 --rtol 1e-4 --atol 1e-5)
  set_tests_properties(torch_export:${_m} PROPERTIES LABELS "torch;engine" TIMEOUT 120)
endforeach()
# bert_tiny in bfloat16: torch rounds to bfloat16 after every op (LayerNorm's mean of squares included),
# ortkit computes in fp32 and rounds at the output, so they sit a few bfloat16 steps apart (2^-6 at 2..4).
set(_d ${ORTKIT_TORCH_EXPORTS}/bert_tiny_bf16)
add_test(NAME torch_export:bert_tiny_bf16
         COMMAND $<TARGET_FILE:ort-bench> verify ${_d}/model.onnx ${_d}/test_data_set_0 --rtol 2e-2 --atol 3e-2)
set_tests_properties(torch_export:bert_tiny_bf16 PROPERTIES LABELS "torch;engine" TIMEOUT 120)
# bert_tiny_functions keeps every MatMul inside model-local functions: ort-quantize must inline them to see
# (and quantize) the weights, and keep the output (ort-quantize exits 1 under --min-cosine; the regex
# ignores the exit code, so it asks for the cosine line itself).
set(_d ${ORTKIT_TORCH_EXPORTS}/bert_tiny_functions)
add_test(NAME torch_export:bert_tiny_functions_quantize
         COMMAND ort-quantize ${_d}/model.onnx -o ${CMAKE_CURRENT_BINARY_DIR}/bert_tiny_functions-int8.onnx
                 --min-cosine 0.99)
set_tests_properties(torch_export:bert_tiny_functions_quantize PROPERTIES LABELS "torch;quant" TIMEOUT 120
                     PASS_REGULAR_EXPRESSION "BertSelfAttention[^ ]* MatMul +-> MatMulInteger.*cosine (1\\.000|0\\.99)")
