# Per-target build options: warnings and sanitizers live on an INTERFACE target that each of our
# targets links, never in global CMAKE_CXX_FLAGS, so dependencies are compiled as they ship.

option(CRIER_WARNINGS_AS_ERRORS "Treat compiler warnings as errors" OFF)
set(CRIER_SANITIZER "" CACHE STRING "Sanitizers to build with: '', 'address,undefined' or 'thread'")
set_property(CACHE CRIER_SANITIZER PROPERTY STRINGS "" "address,undefined" "thread")

add_library(crier_options INTERFACE)
add_library(crier::options ALIAS crier_options)

target_compile_options(crier_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(crier_options INTERFACE
    -Wmisleading-indentation -Wduplicated-cond -Wduplicated-branches -Wlogical-op
    # GCC 12 reports boost::optional inside Beast's parser as maybe-uninitialized once inlined at
    # -O2 (a known false positive in Boost headers, attributed to our translation units).
    -Wno-maybe-uninitialized)
endif()
if(CRIER_WARNINGS_AS_ERRORS)
  target_compile_options(crier_options INTERFACE -Werror)
endif()

# The libFuzzer build (the `fuzz` preset): coverage instrumentation on everything we compile, so the
# fuzz targets in tests/fuzz see inside the code they call; they link the libFuzzer runtime themselves.
option(CRIER_FUZZ "Build only the libFuzzer targets of tests/fuzz (needs clang)" OFF)
if(CRIER_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "CRIER_FUZZ needs clang for libFuzzer (use the `fuzz` preset, or -DCMAKE_CXX_COMPILER=clang++)")
  endif()
  target_compile_options(crier_options INTERFACE -fsanitize=fuzzer-no-link)
endif()

if(CRIER_SANITIZER)
  target_compile_options(crier_options INTERFACE
    -fsanitize=${CRIER_SANITIZER} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(crier_options INTERFACE -fsanitize=${CRIER_SANITIZER})
  if(CRIER_SANITIZER MATCHES "undefined")
    # UBSan's vptr check needs a free file descriptor to inspect memory; when the server runs out
    # (tested on purpose), it reports every Boost.System error category as an invalid object.
    # crier does no downcasts of its own for the check to guard.
    target_compile_options(crier_options INTERFACE -fno-sanitize=vptr)
    target_link_options(crier_options INTERFACE -fno-sanitize=vptr)
  endif()
  if(CRIER_SANITIZER MATCHES "thread" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # Asio's handler invocation uses std::atomic_thread_fence, which GCC warns TSan does not model.
    # The handoffs that matter here go through mutexes and the scheduler's own locks.
    target_compile_options(crier_options INTERFACE -Wno-tsan)
  endif()
endif()
