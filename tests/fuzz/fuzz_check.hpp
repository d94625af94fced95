// Shared by the fuzz targets: a property violation must stop the run the way
// a sanitizer report does, both under libFuzzer (which records the input as
// a crash) and in the replay test (which then fails loudly).
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                          \
  do {                                                                                            \
    if (!(cond)) {                                                                                \
      std::fprintf(stderr, "%s:%d: fuzz property violated: %s\n", __FILE__, __LINE__, #cond);    \
      std::abort();                                                                               \
    }                                                                                             \
  } while (0)
