// Catch2 main of the skip_vs_plain program's unit tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
