# ctest: a model family's default recipe still trains (issue 19). A few steps of MODEL on a small slice with
# the recipe train_mnist picks for it (no --lr, --warmup, --zero-init-residual or --batch-size given): the run
# must name RECIPE on its first line, finish, and its training loss must be finite and fall from the first
# epoch to the second. The slice is the same at both test scales; the costly families are labelled slow (the
# sanitizer phase skips them).
#   cmake -DTRAINER=path/to/train_mnist -DWORK=scratch-dir -DMODEL=resnet56 -DRECIPE=cifar-resnet [-DDATA=dir]
#         -P train_mnist_recipe_smoke.cmake
include(${CMAKE_CURRENT_LIST_DIR}/train_mnist_common.cmake)
foreach(_v MODEL RECIPE)
  if(NOT DEFINED ${_v})
    fail("pass -D${_v}=...")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
# 2 epochs of LIMIT images: the recipe's batch size of 128 gives 3 steps per epoch.
run_trainer(r --data ${DATA} --model ${MODEL} --limit 384 --test-limit 100 --epochs 2 --threads 2 --seed 1
            --metrics ${WORK}/metrics.jsonl)
if(NOT r_rc EQUAL 0)
  fail("train_mnist --model ${MODEL} failed with exit ${r_rc} (3: diverged): ${r_err}")
endif()
string(REGEX MATCH "^[^\n]*" first_line "${r_out}")
if(NOT first_line MATCHES "recipe ${RECIPE}:")
  fail("the first line does not name the recipe ${RECIPE}: '${first_line}'")
endif()
file(STRINGS ${WORK}/metrics.jsonl lines)
list(LENGTH lines n)
if(NOT n EQUAL 2)
  fail("expected 2 metrics lines, got ${n}: ${lines}")
endif()
list(GET lines 0 first)
list(GET lines 1 second)
string(JSON loss1 GET "${first}" loss)
string(JSON loss2 GET "${second}" loss)
if(loss1 STREQUAL "null" OR loss2 STREQUAL "null")
  fail("non-finite training loss: ${lines}")
endif()
if(NOT loss2 LESS loss1)
  fail("the training loss of ${MODEL} with the ${RECIPE} recipe did not fall: epoch 1 ${loss1}, epoch 2 ${loss2}")
endif()
message(STATUS "${MODEL} (${RECIPE}): training loss ${loss1} -> ${loss2}")
