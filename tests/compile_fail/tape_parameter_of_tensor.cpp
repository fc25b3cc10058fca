// Must NOT compile: tape.parameter() binds a Parameter<T>, and a Tensor gets a static_assert that says what to
// use instead (tests/compile_fail/compile_fail_tests.cmake checks the message).
#include "strata/autograd/tape.hpp"

int main() {
    strata::Tape tape;
    strata::Tensor<float> w(strata::Shape{2, 2});
    auto v = tape.parameter(w);
    return static_cast<int>(v.numel());
}
