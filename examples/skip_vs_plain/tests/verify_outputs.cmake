# ctest: the outputs of the skip_vs_plain smoke run are complete and well-formed. Runs the program's own
# --verify-outputs (every CSV parses with the expected header and settings, every SVG exists with the expected
# series), then libxml2's xmllint --noout on every SVG (when configure found xmllint; Debian: libxml2-utils).
#   cmake -DPROGRAM=path/to/skip_vs_plain -DOUT=dir [-DXMLLINT=path/to/xmllint] -P verify_outputs.cmake
execute_process(COMMAND ${PROGRAM} --verify-outputs ${OUT} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "skip_vs_plain --verify-outputs ${OUT}: exit ${rc}\n${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "skip_vs_plain --verify-outputs failed (exit ${rc})")
endif()
if(NOT XMLLINT)
  message(STATUS "xmllint not configured: the SVGs' XML was not checked")
  return()
endif()
file(GLOB svgs ${OUT}/*.svg)
list(LENGTH svgs n)
if(n LESS 4)
  message(FATAL_ERROR "expected 4 SVG files in ${OUT}, found ${n}")
endif()
execute_process(COMMAND ${XMLLINT} --noout ${svgs} RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "xmllint --noout: the SVGs are not well-formed XML (exit ${rc}):\n${err}")
endif()
message(STATUS "xmllint --noout: ${n} SVG files well-formed")
