#include "server/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace crier {

void setup_logging(std::string const& level) {
  // stderr keeps stdout free for --help and --version; the sink flushes every line, so a process
  // reading the log (a test, a supervisor) sees "listening on" as soon as it is written.
  auto logger = spdlog::stderr_color_mt("crier");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(std::move(logger));
}

} // namespace crier
