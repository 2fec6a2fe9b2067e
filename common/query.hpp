#pragma once
// Query-string parameters of a request target ("/ws/room?name=ann&since=41").

#include <optional>
#include <string>
#include <string_view>

namespace crier {

// The decoded value of the first `key` parameter ("+" is a space, %XX escapes are decoded).
// Returns nullopt when absent or malformed.
std::optional<std::string> query_param(std::string_view target, std::string_view key);

// True when `key` appears at all, even with a malformed value.
bool has_query_param(std::string_view target, std::string_view key);

} // namespace crier
