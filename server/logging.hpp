#pragma once
// Process-wide logging: one thread-safe spdlog logger on stderr, in text or JSON lines. Events
// carry structured fields (peer, room, code, reason, duration_ms...) that text renders as
// key=value and JSON as members of the line's object.

#include "common/policies.hpp"

#include <spdlog/common.h>

#include <cstdint>
#include <exception>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace crier {

// `level`: trace, debug, info, warn, error, critical, off.
void setup_logging(std::string const& level, log_encoding format = log_encoding::text);

struct log_field {
  std::string_view key;
  std::variant<std::string_view, std::int64_t> value;

  template <class Text>
    requires std::is_convertible_v<Text const&, std::string_view>
  log_field(std::string_view k, Text const& v) : key(k), value(std::string_view(v)) {}
  template <class Int>
    requires std::is_integral_v<Int>
  log_field(std::string_view k, Int v) : key(k), value(static_cast<std::int64_t>(v)) {}
};

void log_event(spdlog::level::level_enum level, std::string_view msg, std::initializer_list<log_field> fields = {});

inline void log_debug(std::string_view msg, std::initializer_list<log_field> f = {}) {
  log_event(spdlog::level::debug, msg, f);
}
inline void log_info(std::string_view msg, std::initializer_list<log_field> f = {}) {
  log_event(spdlog::level::info, msg, f);
}
inline void log_warn(std::string_view msg, std::initializer_list<log_field> f = {}) {
  log_event(spdlog::level::warn, msg, f);
}
inline void log_error(std::string_view msg, std::initializer_list<log_field> f = {}) {
  log_event(spdlog::level::err, msg, f);
}

// For co_spawn's completion handler: an exception that escaped a coroutine is logged once, at
// error level, as "<what> failed" with the peer. A null pointer (a normal end) logs nothing.
void log_exception(std::string_view what, std::string_view peer, std::exception_ptr e);

} // namespace crier
