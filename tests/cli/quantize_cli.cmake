# ort-quantize: CLI behaviour (error paths, atomic output) and ONNX Runtime as the oracle for every
# mode and format. Both run scripts/quant_vs_ort.py, which exits 77 (skip) without its Python modules.
if(TARGET ort-quantize)
  find_package(Python3 COMPONENTS Interpreter)
  if(Python3_Interpreter_FOUND)
    add_test(NAME quantize:cli
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/scripts/quant_vs_ort.py
                     --bin $<TARGET_FILE:ort-quantize> --cli-only)
    add_test(NAME quantize:vs_ort
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/scripts/quant_vs_ort.py
                     --bin $<TARGET_FILE:ort-quantize>)
    set_tests_properties(quantize:cli quantize:vs_ort PROPERTIES SKIP_RETURN_CODE 77 LABELS "cli;quant" TIMEOUT 300)
  endif()
endif()
