# ctest driver of distributed/abort: runs PROGRAM under `MPIEXEC NP_FLAG 2 FLAGS...` and passes when the job
# exits non-zero within TIMEOUT seconds and its output names the failing rank and its message.
#   cmake -DMPIEXEC=... -DNP_FLAG=-n -DFLAGS="a|b" -DPROGRAM=... -DTIMEOUT=60 -P run_abort_test.cmake
string(REPLACE "|" ";" _flags "${FLAGS}")
string(TIMESTAMP _t0 "%s")
execute_process(COMMAND ${MPIEXEC} ${NP_FLAG} 2 ${_flags} ${PROGRAM}
                RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err TIMEOUT ${TIMEOUT})
string(TIMESTAMP _t1 "%s")
math(EXPR _seconds "${_t1} - ${_t0}")
message(STATUS "exit: ${_rc} after ${_seconds} s\n--- stdout ---\n${_out}\n--- stderr ---\n${_err}")
if(_rc MATCHES "timeout|Process terminated")
  message(FATAL_ERROR "the job did not end within ${TIMEOUT} s: a failing rank left the others hanging")
endif()
if(_rc EQUAL 0)
  message(FATAL_ERROR "the job exited 0 although rank 1 threw")
endif()
set(_all "${_out}${_err}")
foreach(_want "rank 1 of 2 failed: deliberate failure on rank 1 (abort test)" "MPI_Abort")
  string(FIND "${_all}" "${_want}" _at)
  if(_at EQUAL -1)
    message(FATAL_ERROR "the job's output lacks \"${_want}\"")
  endif()
endforeach()
message(STATUS "passed: non-zero exit ${_rc} after ${_seconds} s with the failing rank's message")
