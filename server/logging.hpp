#pragma once
// Process-wide logging set-up: one thread-safe spdlog logger writing lines to stderr.

#include <string>

namespace crier {

// `level` is one of trace, debug, info, warn, error, critical, off (validated by the config).
void setup_logging(std::string const& level);

} // namespace crier
