# ctest: a diverging train_mnist run stops with a clear message and exit status 3, and leaves the checkpoint that a
# good run wrote before it byte-identical.
#   CASE loss      --lr 1e30: the loss becomes NaN within a few steps; the message names epoch, step, batch and
#                  the loss, and hints at --lr and --clip-grad-norm
#   CASE anomaly   the same with --detect-anomaly: the message names the op that produced the first NaN/Inf
#   cmake -DTRAINER=path/to/train_mnist -DWORK=scratch-dir -DCASE=name [-DDATA=dir] -P train_mnist_divergence.cmake
include(${CMAKE_CURRENT_LIST_DIR}/train_mnist_common.cmake)
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
set(ck ${WORK}/run.ck)
# 4 steps per epoch of a small ResNet: a few seconds, also under the sanitizers.
set(tiny --data ${DATA} --model resnet8 --limit 128 --test-limit 64 --batch-size 32 --threads 2 --quiet)

# The good run whose checkpoint must survive.
run_trainer(good ${tiny} --epochs 1 --checkpoint ${ck})
if(NOT good_rc EQUAL 0 OR NOT EXISTS ${ck})
  fail("the good run failed (exit ${good_rc}): ${good_err}")
endif()
file(SHA256 ${ck} before)

if(CASE STREQUAL "loss")
  set(extra)
  set(expected "train_mnist: training diverged at epoch 1, step [0-9]+ \\(batch [0-9]+ of 4\\): the training loss is (nan|inf|-inf); lower --lr \\(now 1e\\+30\\) or use --clip-grad-norm")
elseif(CASE STREQUAL "anomaly")
  set(extra --detect-anomaly)
  set(expected "train_mnist: anomaly detected at epoch 1, step [0-9]+ \\(batch [0-9]+ of 4\\): anomaly: the (forward|backward) of op '[a-z0-9_]+' \\(node [0-9]+\\) (produced|wrote) a non-finite")
else()
  fail("unknown CASE '${CASE}'")
endif()

# A new run with an absurd learning rate, pointed at the same checkpoint path: it must never save over it.
run_trainer(bad ${tiny} --epochs 2 --lr 1e30 --checkpoint ${ck} --metrics ${WORK}/bad.jsonl ${extra})
if(NOT bad_rc EQUAL 3)
  fail("expected exit status 3 (diverged), got '${bad_rc}': ${bad_err}")
endif()
if(NOT bad_err MATCHES "${expected}")
  fail("stderr does not match '${expected}': ${bad_err}")
endif()
if(NOT bad_err MATCHES "${ck} was left as it was before this run")
  fail("the message does not say that the checkpoint was kept: ${bad_err}")
endif()
string(REGEX MATCHALL "\n" newlines "${bad_err}")
list(LENGTH newlines n)
if(n GREATER 2)
  fail("expected one message line, got ${n}: ${bad_err}")
endif()
file(SHA256 ${ck} after)
if(NOT before STREQUAL after)
  fail("the diverged run changed the checkpoint ${ck}")
endif()
file(READ ${WORK}/bad.jsonl lines)
if(NOT lines STREQUAL "")
  fail("the diverged run wrote metrics: ${lines}")
endif()
file(GLOB leftovers ${WORK}/*.tmp.*)
if(leftovers)
  fail("temporary files left behind: ${leftovers}")
endif()
message(STATUS "${CASE}: diverged with exit 3, checkpoint byte-identical")
