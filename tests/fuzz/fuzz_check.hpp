#pragma once
// The check fuzz targets use: unlike assert, it stays on in optimised builds, and it aborts, which
// libFuzzer reports as a crash with the input that caused it.

#include <cstdio>
#include <cstdlib>

#define CRIER_FUZZ_CHECK(condition)                                                                 \
  do {                                                                                              \
    if (!(condition)) {                                                                             \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition);          \
      std::abort();                                                                                 \
    }                                                                                               \
  } while (false)
