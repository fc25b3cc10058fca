// Catch2 main of the train_mnist program's unit tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
