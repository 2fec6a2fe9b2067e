#pragma once
// Who may open a WebSocket: the Origin allow-list and the shared-secret token.

#include <string>
#include <string_view>

namespace crier {

// `allowed` is the --allowed-origins value: "*" allows any Origin; a comma-separated list allows
// exactly those origins; empty allows the server's own origin (an Origin whose host and port are
// the request's Host). A request with no Origin header (CLI clients) is always allowed: Origin
// protects browsers, and anything else can send whatever it likes.
bool origin_allowed(std::string_view origin, std::string_view host, std::string_view allowed);

// Constant-time comparison, so the time taken does not tell how much of a guess was right.
bool token_matches(std::string_view presented, std::string_view secret) noexcept;

// The target with the value of every token parameter replaced by "***", for logging. The key is
// matched in any case and with %XX escapes decoded: a secret sent as ?TOKEN= is still a secret.
std::string redact_target(std::string_view target);

} // namespace crier
