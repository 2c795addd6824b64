# Models exported by torch.onnx.export (scripts/export_models.py) must give torch's own outputs.
# While `ort-bench verify` is still the placeholder that says "not implemented yet", these skip.
foreach(_m bert_tiny gpt2_tiny resnet_tiny resnet_tiny_bn mobilenet_tiny)
  set(_d ${CMAKE_SOURCE_DIR}/tests/data/torch/${_m})
  add_test(NAME torch_export:${_m}
           COMMAND $<TARGET_FILE:ort-bench> verify ${_d}/model.onnx ${_d}/test_data_set_0 --rtol 1e-4 --atol 1e-5)
  set_tests_properties(torch_export:${_m} PROPERTIES LABELS "torch;engine" TIMEOUT 120
                       SKIP_REGULAR_EXPRESSION "not implemented yet")
endforeach()
