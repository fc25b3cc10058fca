# Compile-time checks: each source here must fail to compile with the message a user should see. The targets
# are EXCLUDE_FROM_ALL; each ctest case builds its target and passes when the build fails with that message.
function(strata_compile_fail name source regex)
  add_executable(${name} EXCLUDE_FROM_ALL ${source})
  target_link_libraries(${name} PRIVATE strata::strata)
  add_test(NAME compile_fail/${name}
           COMMAND ${CMAKE_COMMAND} --build ${PROJECT_BINARY_DIR} --target ${name})
  set_tests_properties(compile_fail/${name} PROPERTIES WILL_FAIL FALSE PASS_REGULAR_EXPRESSION "${regex}"
                       LABELS compile_fail TIMEOUT 300)
endfunction()

strata_compile_fail(tape_parameter_of_tensor ${CMAKE_CURRENT_LIST_DIR}/tape_parameter_of_tensor.cpp
                    "tape.parameter\\(\\) takes a Parameter<T>.*use tape.variable\\(t\\)")
