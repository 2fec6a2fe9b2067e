#pragma once
// One run of crier-bench, phase by phase: connect, idle hold or warm-up and measured window, drain, close.

#include "bench/options.hpp"

namespace crier::bench {

// Runs with the parsed options and prints the report; returns the exit status: 0 ok, 1 an
// integrity failure, 2 a limit this machine cannot give, 3 clients that did not connect.
int run(options const& o);

} // namespace crier::bench
