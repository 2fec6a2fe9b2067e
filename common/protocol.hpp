#pragma once
// The crier.v1 JSON protocol: decoding what clients send, and rendering what the server sends.
// Rendering produces complete frames' text; a message event is rendered once and its text is
// reused inside welcome and history replies, never re-encoded.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace crier {

inline constexpr std::string_view json_subprotocol = "crier.v1";

struct member_info {
  std::string id;
  std::string name;
};

// Client to server.
struct send_text_request {
  std::string text;
};
struct history_request {
  std::optional<std::uint64_t> before; // messages with seq < before; nullopt: the newest
  std::size_t limit = 50;
};
struct protocol_error {
  std::string_view code; // invalid_json, unknown_type, invalid_field
  std::string reason;
};
using client_message = std::variant<send_text_request, history_request, protocol_error>;

inline constexpr std::size_t max_history_page = 100;

client_message decode_client_message(std::string_view text);

// Server to client. `ts` is milliseconds since the epoch.
std::string render_message(std::uint64_t seq, std::int64_t ts, member_info const& from, std::string_view text);
// A message that has no seq: sent while a cluster node could not reach Redis (see docs/scaling.md).
std::string render_unsequenced_message(std::int64_t ts, member_info const& from, std::string_view text);
std::string render_presence(std::string_view type, std::int64_t ts, member_info const& member);
std::string render_error(std::string_view code, std::string_view reason);

// `history` holds already rendered message events.
struct welcome_view {
  member_info const& you;
  std::string_view room;
  std::string_view epoch;
  std::vector<member_info const*> const& members;
  std::vector<std::string const*> const& history;
  std::uint64_t seq;
  bool resumed;
};
std::string render_welcome(welcome_view const& w);
std::string render_history(std::vector<std::string const*> const& messages);

// `s` as a JSON string literal, quotes included.
std::string json_string(std::string_view s);

// True when the comma-separated Sec-WebSocket-Protocol offer includes crier.v1.
bool offers_json_subprotocol(std::string_view header);

std::int64_t now_ms();

} // namespace crier
