#pragma once
// UTF-8 validation (RFC 3629): what a WebSocket text message must be (RFC 6455 section 8.1).

#include <string_view>

namespace crier {

// True when `text` is well-formed UTF-8: no overlong forms, no UTF-16 surrogates, nothing above
// U+10FFFF, and no sequence left unfinished at the end.
bool is_valid_utf8(std::string_view text) noexcept;

} // namespace crier
