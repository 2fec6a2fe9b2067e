#pragma once
// Checks on the WebSocket opening handshake that Beast leaves out.

#include <string_view>

namespace crier {

// True when `key` is a Sec-WebSocket-Key as RFC 6455 section 4.1 defines it: the base64 encoding
// of 16 bytes, which is 22 base64 characters followed by "==". Beast only refuses keys longer
// than 24 characters, so an empty or truncated key would otherwise be accepted.
bool is_valid_websocket_key(std::string_view key) noexcept;

} // namespace crier
