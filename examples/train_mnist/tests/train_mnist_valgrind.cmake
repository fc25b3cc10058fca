# ctest (label "valgrind"): a short training under valgrind memcheck must be clean. Two runs of train_mnist,
# each under `valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite`:
#   1. one epoch of resnet8-aux (auxiliary heads, augmentation, 2 OpenMP threads when built with OpenMP) on
#      128 training / 128 test images, saving a checkpoint;
#   2. --resume from that checkpoint for a second epoch (the checkpoint loader and the restored optimizer,
#      schedule and loader states under memcheck).
# Each must exit 0 (99: memcheck found an error or a definite leak), finish its epoch, and report 0 errors and
# 0 bytes definitely lost. valgrind.supp (beside this script) suppresses libgomp's thread-pool noise only (see the file).
#   cmake -DVALGRIND=valgrind -DTRAINER=path/to/train_mnist -DWORK=scratch-dir -DSUPP=examples/train_mnist/tests/valgrind.supp
#         [-DDATA=dir] -P train_mnist_valgrind.cmake
include(${CMAKE_CURRENT_LIST_DIR}/train_mnist_common.cmake)
foreach(_v VALGRIND SUPP)
  if(NOT DEFINED ${_v})
    fail("pass -D${_v}=...")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

set(memcheck ${VALGRIND} --tool=memcheck --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
             --suppressions=${SUPP} --num-callers=30)

# run_memcheck(<what> <done-pattern> ARGS...): runs the trainer under memcheck and checks its verdict.
function(run_memcheck what done)
  string(TIMESTAMP t0 "%s")
  execute_process(COMMAND ${memcheck} --log-file=${WORK}/${what}.memcheck.log ${TRAINER} ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(TIMESTAMP t1 "%s")
  math(EXPR seconds "${t1} - ${t0}")
  file(READ ${WORK}/${what}.memcheck.log log)
  string(REGEX MATCHALL "(ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|suppressed:)[^\n]*" summary
         "${log}")
  string(REPLACE ";" "\n  " summary "${summary}")
  message(STATUS "${what}: exit ${rc} after ${seconds} s under memcheck\n  ${summary}\n"
                 "  stdout: ${out}\n  stderr: ${err}")
  if(NOT rc EQUAL 0)
    fail("${what}: exit ${rc} under memcheck (99: an error or a definite leak). The report:\n${log}")
  endif()
  if(NOT log MATCHES "ERROR SUMMARY: 0 errors from 0 contexts")
    fail("${what}: memcheck reported errors:\n${log}")
  endif()
  if(NOT log MATCHES "definitely lost: 0 bytes in 0 blocks" AND NOT log MATCHES "All heap blocks were freed")
    fail("${what}: memcheck reported a definite leak (or no leak summary):\n${log}")
  endif()
  if(NOT "${out}${err}" MATCHES "${done}")
    fail("${what}: the trainer did not report '${done}'")
  endif()
endfunction()

set(ck ${WORK}/memcheck.ck)
run_memcheck(train "done after 1 epoch .*test accuracy"
             --data ${DATA} --model resnet8-aux --limit 128 --test-limit 128 --batch-size 64 --eval-batch-size 64
             --epochs 1 --threads 2 --augment on --seed 5 --checkpoint ${ck})
if(NOT EXISTS ${ck})
  fail("the first run saved no checkpoint at ${ck}")
endif()
run_memcheck(resume "done after 2 epochs .*test accuracy" --checkpoint ${ck} --resume --epochs 2)
