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

// The close code of a session the server API disconnected (RFC 6455 section 7.4.2: 4000-4999
// are for applications).
inline constexpr std::uint16_t close_disconnected = 4000;

// A member as others see it: `id` is the connection's, `name` its display name, and `user` the
// `sub` of its signed token (empty for a guest, and then left out of what is rendered).
struct member_info {
  std::string id;
  std::string name;
  std::string user = {};
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
// A page of the room's members, in id order: ids greater than `after`, names containing `query`
// (ASCII case-insensitive), at most `limit` (1-max_members_page).
struct members_request {
  std::string after;
  std::string query;
  std::size_t limit = 100;
};
// A new signed token for the same user, before the current one expires.
struct refresh_request {
  std::string token;
};
using client_message = std::variant<send_text_request, history_request, protocol_error, members_request, refresh_request>;

inline constexpr std::size_t max_history_page = 100;
inline constexpr std::size_t max_members_page = 1000;

client_message decode_client_message(std::string_view text);

// One page of `candidates` for `req`: those with an id greater than req.after whose name holds
// req.query, the smallest ids first, at most req.limit; `next` is the after of the next page,
// empty when there is none. O(n) plus the sort of one page.
struct members_page_result {
  std::vector<member_info const*> members;
  std::string next;
};
members_page_result page_members(std::vector<member_info const*> candidates, members_request const& req);

// Server to client. `ts` is milliseconds since the epoch.
std::string render_message(std::uint64_t seq, std::int64_t ts, member_info const& from, std::string_view text);
// A message that has no seq: sent while a cluster node could not reach Redis (see docs/scaling.md).
std::string render_unsequenced_message(std::int64_t ts, member_info const& from, std::string_view text);
std::string render_presence(std::string_view type, std::int64_t ts, member_info const& member);
std::string render_error(std::string_view code, std::string_view reason);
// The answer to a refresh that was accepted: the new token's expiry (seconds since the epoch),
// or none.
std::string render_refreshed(std::optional<std::int64_t> exp);
// Big-room presence: who came and went in one interval, as counts, and the room's size after it.
// With `members` (the room fell back to a small one) the complete list, replacing the client's.
std::string render_presence_batch(std::int64_t ts, std::size_t count, std::uint64_t joined, std::uint64_t left,
                                  std::vector<member_info const*> const* members = nullptr);
// The reply to a members request: `count` members in the room, this page, and the `after` of the
// next page (empty: this was the last).
std::string render_members_page(std::size_t count, std::vector<member_info const*> const& members,
                                std::string_view next);

// `history` holds already rendered message events.
struct welcome_view {
  member_info const& you;
  std::string_view room;
  std::string_view epoch;
  std::vector<member_info const*> const& members;
  std::vector<std::string const*> const& history;
  std::uint64_t seq;
  bool resumed;
  // Everyone in the room; more than members.size() when the room is big and the list was capped.
  std::size_t member_count = 0;
};
std::string render_welcome(welcome_view const& w);
std::string render_history(std::vector<std::string const*> const& messages);

// `s` as a JSON string literal, quotes included.
std::string json_string(std::string_view s);
// Appends `m` as the JSON object every event uses for a member: {"id":..,"name":..,"user":..}
// ("user" only for a signed-in user).
void append_member_json(std::string& out, member_info const& m);

// True when the comma-separated Sec-WebSocket-Protocol offer includes crier.v1.
bool offers_json_subprotocol(std::string_view header);

std::int64_t now_ms();

} // namespace crier
