# torchvision's model classes exported by torch (built into ORTKIT_VISION_EXPORTS, tests/CMakeLists.txt) must
# give torch's own outputs through `ort-bench verify`, on 1 thread and on 2 (the thread split of every conv,
# GEMM and attention form is a separate code path).
if(NOT ORTKIT_VISION_EXPORTS)  # tests/CMakeLists.txt: no python3-torchvision
  return()
endif()
foreach(_m mobilenet_v3_small efficientnet_b0 shufflenet_v2_x0_5 squeezenet1_1 regnet_y_400mf googlenet
           densenet_small convnext_small swin_small vit_small lraspp_mobilenet_v3_large raft_small
           ssdlite320_mobilenet_v3_large)
  set(_d ${ORTKIT_VISION_EXPORTS}/${_m})
  # RAFT's flow passes through a 2-step recurrent refinement of GridSample lookups: ONNX Runtime itself sits
  # 8e-6 of the flow's range from torch there, so its absolute bound is 1e-4.
  set(_tol --rtol 1e-4 --atol 1e-5)
  if(_m STREQUAL "raft_small")
    set(_tol --rtol 1e-3 --atol 1e-4)
  endif()
  foreach(_t 1 2)
    add_test(NAME vision_export:${_m}:t${_t}
             COMMAND $<TARGET_FILE:ort-bench> verify ${_d}/model.onnx ${_d}/test_data_set_0 ${_tol} --threads ${_t})
    set_tests_properties(vision_export:${_m}:t${_t} PROPERTIES LABELS "torch;engine" TIMEOUT 120)
  endforeach()
endforeach()
