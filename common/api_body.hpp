#pragma once
// The JSON bodies the server API takes (docs/api.md), decoded and checked in one place, so that
// the HTTP side only routes and answers. Every refusal says what is wrong, for a 400 or a 413.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace crier {

struct api_body_error {
  bool too_large = false; // 413 rather than 400
  std::string message;
};

// POST /api/rooms/<room>/messages: {"text":"...","from":{"user":"...","name":"..."}}, `from`
// and each of its fields optional. `text` is at most `max_text` bytes (too_large past it).
struct publish_body {
  std::string text;
  std::string user; // empty: none
  std::string name; // empty: the server's own
};
std::variant<publish_body, api_body_error> parse_publish_body(std::string_view body, std::size_t max_text);

// POST /api/rooms/<room>/disconnect and /api/users/<user>/disconnect: {"user":"..."} for the
// first; the second names its user in the path and takes no body (or an empty object).
std::variant<std::string, api_body_error> parse_disconnect_body(std::string_view body);

} // namespace crier
