# ctest: an interrupted train_mnist run, resumed with --resume, reproduces the uninterrupted run's metrics
# exactly (every field but the timings), whichever way it was interrupted:
#   A  2 epochs, uninterrupted (the reference)
#   B  --stop-after 11 (in the middle of epoch 2), then --resume
#   C  --epochs 1, then --resume --epochs 2 (the schedule's milestones are in epochs, so this is the same run)
#   D  a real SIGTERM during epoch 2 (sent once epoch 1's metrics line is written), then --resume
# The model has auxiliary heads, augmentation is on and the schedule has a warm-up, so the loader, generator,
# optimizer and schedule states all matter. Each interrupted run must exit 130 with a message and leave a
# checkpoint and no temporary file. With the environment variable STRATA_TEST_SCALE=small (the sanitizer build):
# 4 steps of 32 images per epoch instead of 8 of 64, B stopping after 6 steps (epoch 2, batch 2 of 4).
#   cmake -DTRAINER=path/to/train_mnist -DWORK=scratch-dir [-DDATA=dir] -P train_mnist_resume.cmake
include(${CMAKE_CURRENT_LIST_DIR}/train_mnist_common.cmake)
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

if("$ENV{STRATA_TEST_SCALE}" STREQUAL "small")
  set(size --limit 128 --test-limit 64 --batch-size 32)
  set(stop_after 6)
  set(stop_where "epoch 2, batch 2 of 4")
else()
  set(size --limit 512 --test-limit 128 --batch-size 64)
  set(stop_after 11)
  set(stop_where "epoch 2, batch 3 of 8")
endif()
set(common --data ${DATA} --model resnet8-aux ${size} --threads 2
           --augment on --warmup 3 --schedule multistep --milestones 1 --gamma 0.5 --seed 3 --quiet)

function(expect_interrupted prefix ck what)
  if(NOT ${prefix}_rc EQUAL 130)
    fail("${what}: expected exit 130, got ${${prefix}_rc}: ${${prefix}_err}")
  endif()
  if(NOT EXISTS "${ck}")
    fail("${what}: no checkpoint at ${ck}")
  endif()
  if(NOT ${prefix}_err MATCHES "checkpoint saved to")
    fail("${what}: no message about the saved checkpoint: ${${prefix}_err}")
  endif()
endfunction()

function(expect_same_metrics what file)
  metrics_without_timing(expected ${WORK}/a.jsonl)
  metrics_without_timing(got ${file})
  if(NOT got STREQUAL expected)
    string(REPLACE ";" "\n  " expected "${expected}")
    string(REPLACE ";" "\n  " got "${got}")
    fail("${what}: the resumed run's metrics differ from the uninterrupted run's:\n expected:\n  ${expected}\n got:\n  ${got}")
  endif()
  message(STATUS "${what}: metrics identical to the uninterrupted run")
endfunction()

# A
run_trainer(a ${common} --epochs 2 --metrics ${WORK}/a.jsonl)
if(NOT a_rc EQUAL 0)
  fail("the reference run failed (exit ${a_rc}): ${a_err}")
endif()
metrics_without_timing(reference ${WORK}/a.jsonl)
list(LENGTH reference n)
if(NOT n EQUAL 2)
  fail("the reference run wrote ${n} metrics lines, expected 2")
endif()

# B
run_trainer(b1 ${common} --epochs 2 --metrics ${WORK}/b.jsonl --checkpoint ${WORK}/b.ck --stop-after ${stop_after})
expect_interrupted(b1 ${WORK}/b.ck "--stop-after ${stop_after}")
if(NOT b1_err MATCHES "stopped after --stop-after ${stop_after} steps at step ${stop_after} \\(${stop_where}\\)")
  fail("unexpected interruption message: ${b1_err}")
endif()
run_trainer(b2 --checkpoint ${WORK}/b.ck --resume --quiet)
if(NOT b2_rc EQUAL 0)
  fail("resuming B failed (exit ${b2_rc}): ${b2_err}")
endif()
expect_same_metrics("B (--stop-after, then --resume)" ${WORK}/b.jsonl)

# C
run_trainer(c1 ${common} --epochs 1 --metrics ${WORK}/c.jsonl --checkpoint ${WORK}/c.ck)
if(NOT c1_rc EQUAL 0)
  fail("C's first epoch failed (exit ${c1_rc}): ${c1_err}")
endif()
run_trainer(c2 --checkpoint ${WORK}/c.ck --resume --epochs 2 --quiet)
if(NOT c2_rc EQUAL 0)
  fail("resuming C failed (exit ${c2_rc}): ${c2_err}")
endif()
expect_same_metrics("C (--epochs 1, then --resume --epochs 2)" ${WORK}/c.jsonl)

# D: a real SIGTERM in the middle of epoch 2. The signal is sent once the first epoch's metrics line exists, so
# it cannot arrive before the trainer has installed its handlers, however loaded the machine is (a fixed delay
# did, once, on a busy CI machine: the default action killed the process with 143).
find_program(SH sh)
if(SH)
  set(d_command ${TRAINER} ${common} --epochs 2 --metrics ${WORK}/d.jsonl --checkpoint ${WORK}/d.ck)
  string(REPLACE ";" " " d_command "${d_command}")
  execute_process(COMMAND ${SH} -c "
      ${d_command} & pid=$!
      tries=0
      while [ ! -s '${WORK}/d.jsonl' ] && kill -0 $pid 2>/dev/null && [ $tries -lt 6000 ]; do
        sleep 0.1; tries=$((tries + 1))
      done
      kill -TERM $pid 2>/dev/null
      wait $pid"
                  RESULT_VARIABLE d1_rc OUTPUT_VARIABLE d1_out ERROR_VARIABLE d1_err)
  message(STATUS "SIGTERM after the first epoch -> exit ${d1_rc}: ${d1_err}")
  if(d1_rc EQUAL 0)
    message(STATUS "D: the run finished before the signal; nothing to resume")
  else()
    expect_interrupted(d1 ${WORK}/d.ck "SIGTERM")
    if(NOT d1_err MATCHES "interrupted by SIGTERM at step [0-9]+ \\(epoch 2,")
      fail("unexpected interruption message: ${d1_err}")
    endif()
    run_trainer(d2 --checkpoint ${WORK}/d.ck --resume --quiet)
    if(NOT d2_rc EQUAL 0)
      fail("resuming D failed (exit ${d2_rc}): ${d2_err}")
    endif()
  endif()
  expect_same_metrics("D (SIGTERM, then --resume)" ${WORK}/d.jsonl)
else()
  message(STATUS "D skipped: no sh")
endif()

file(GLOB leftovers ${WORK}/*.tmp.*)
if(leftovers)
  fail("temporary files left behind: ${leftovers}")
endif()
