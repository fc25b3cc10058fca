# Helpers of the train_mnist ctest scripts (cmake -P), included by them.
#   run_trainer(<prefix> ARGS...)  runs ${TRAINER} ARGS..., setting <prefix>_rc, <prefix>_out, <prefix>_err
#   metrics_without_timing(<out-var> <file>)  the file's lines with images_per_s and seconds removed
#   fail(...)                      FATAL_ERROR with the message
foreach(_v TRAINER WORK)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "pass -D${_v}=...")
  endif()
endforeach()
if(NOT DEFINED DATA)
  set(DATA /usr/share/datasets/fashion-mnist)
endif()

function(fail)
  string(JOIN "" _msg ${ARGV})
  message(FATAL_ERROR "${_msg}")
endfunction()

function(run_trainer prefix)
  execute_process(COMMAND ${TRAINER} ${ARGN}
                  RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
  message(STATUS "train_mnist ${ARGN}\n  -> exit ${_rc}\n  stdout: ${_out}\n  stderr: ${_err}")
  set(${prefix}_rc "${_rc}" PARENT_SCOPE)
  set(${prefix}_out "${_out}" PARENT_SCOPE)
  set(${prefix}_err "${_err}" PARENT_SCOPE)
endfunction()

function(metrics_without_timing out file)
  if(NOT EXISTS "${file}")
    fail("no metrics file ${file}")
  endif()
  file(STRINGS "${file}" _lines)
  set(_result)
  foreach(_line IN LISTS _lines)
    string(REGEX REPLACE ",\"images_per_s\":[^,]*,\"seconds\":[^}]*}" "}" _line "${_line}")
    list(APPEND _result "${_line}")
  endforeach()
  set(${out} "${_result}" PARENT_SCOPE)
endfunction()
