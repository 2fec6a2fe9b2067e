#pragma once
// UTF-8 validation (RFC 3629): what a WebSocket text message must be (RFC 6455 section 8.1).

#include <string>
#include <string_view>

namespace crier {

// True when `text` is well-formed UTF-8: no overlong forms, no UTF-16 surrogates, nothing above
// U+10FFFF, and no sequence left unfinished at the end.
bool is_valid_utf8(std::string_view text) noexcept;

// For text already known to be a valid UTF-8 *prefix* (Beast checks every frame as it arrives):
// true when its last sequence is complete, so the whole of it is valid UTF-8. Looks at the last
// four bytes at most, whatever the size of the text.
bool ends_in_complete_utf8(std::string_view valid_prefix) noexcept;

// `text` with every byte that is not part of a well-formed sequence replaced by U+FFFD, so that
// what a peer sent (an Origin header, a request target) can go into a JSON log line, which must
// be valid UTF-8. Valid text comes back unchanged.
std::string replace_invalid_utf8(std::string_view text);

} // namespace crier
