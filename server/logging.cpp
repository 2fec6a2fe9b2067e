#include "server/logging.hpp"

#include "common/protocol.hpp"
#include "common/utf8.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>

namespace crier {
namespace {

std::atomic<bool> json_lines{false};

// A log line is read by people and by JSON parsers, and must be valid UTF-8 for both: peers'
// bytes (an Origin, a target, a close reason) that are not are shown with U+FFFD in their place.
std::string loggable(std::string_view v) { return is_valid_utf8(v) ? std::string(v) : replace_invalid_utf8(v); }

bool needs_quotes(std::string_view v) {
  return v.empty() || v.find_first_of(" \t\"'=\n\r") != std::string_view::npos;
}

} // namespace

void setup_logging(std::string const& level, log_encoding format) {
  // stderr keeps stdout free for --help and --version; the sink flushes every line, so a process
  // reading the log (a test, a supervisor) sees "listening on" as soon as it is written.
  auto logger = spdlog::stderr_color_mt("crier");
  if (format == log_encoding::json) {
    json_lines = true;
    logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l",%v})");
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  }
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(std::move(logger));
}

void log_event(spdlog::level::level_enum level, std::string_view msg, std::initializer_list<log_field> fields) {
  auto* logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  std::string line;
  if (json_lines.load(std::memory_order_relaxed)) {
    line = R"("msg":)" + json_string(loggable(msg));
    for (auto const& f : fields) {
      line += ',';
      line += json_string(f.key);
      line += ':';
      if (auto const* s = std::get_if<std::string_view>(&f.value)) line += json_string(loggable(*s));
      else line += std::to_string(std::get<std::int64_t>(f.value));
    }
  } else {
    line = msg;
    for (auto const& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      if (auto const* s = std::get_if<std::string_view>(&f.value)) {
        auto const v = loggable(*s);
        if (needs_quotes(v)) line += json_string(v);
        else line += v;
      } else {
        line += std::to_string(std::get<std::int64_t>(f.value));
      }
    }
  }
  logger->log(level, std::string_view(line));
}

void log_exception(std::string_view what, std::string_view peer, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (std::exception const& ex) {
    auto const msg = std::string(what) + " failed";
    if (peer.empty()) log_error(msg, {{"error", ex.what()}});
    else log_error(msg, {{"peer", peer}, {"error", ex.what()}});
  }
}

} // namespace crier
