#pragma once
// Validation of the names that clients choose: room names from the WebSocket path, display
// names, and the user ids of signed tokens and the server API.

#include <optional>
#include <string>
#include <string_view>

namespace crier {

inline constexpr std::string_view default_room = "lobby";
inline constexpr std::size_t max_room_name_length = 64;

// True for 1-64 characters from [A-Za-z0-9._-].
bool is_valid_room_name(std::string_view name) noexcept;

// Maps a request path ("/ws" or "/ws/<room>", query already stripped) to its room name.
// Returns nullopt when the path is not a WebSocket path at all, and an empty string when it is
// one but the room name is invalid.
std::optional<std::string> room_from_ws_path(std::string_view path);
// The same for an event stream's path: "/sse" or "/sse/<room>".
std::optional<std::string> room_from_sse_path(std::string_view path);

inline constexpr std::size_t max_display_name_length = 32; // in characters (code points)

// Validates a display name from ?name=: trimmed of surrounding white space, 1-32 characters of
// valid UTF-8 with no control characters. Returns the trimmed name, or sets `error` and returns
// nullopt.
std::optional<std::string> validate_display_name(std::string_view raw, std::string& error);

inline constexpr std::size_t max_user_id_length = 128; // bytes

// A user id (a token's sub, the server API's from.user and disconnect user): 1-128 bytes of valid
// UTF-8 without control characters (C0, DEL, C1), so that it can go in a log line or a Redis
// control message as it is.
bool is_valid_user_id(std::string_view user) noexcept;

} // namespace crier
