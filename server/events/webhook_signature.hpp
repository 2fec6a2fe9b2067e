#pragma once
// How a webhook request is signed (Stripe-style, docs/webhooks.md): X-Crier-Timestamp carries the
// Unix time in seconds, and X-Crier-Signature is "sha256=" and the lowercase hex HMAC-SHA256, keyed
// with --webhook-secret, of "<timestamp>.<body>". The timestamp is under the signature, so a
// receiver that refuses old timestamps refuses replays.

#include <cstdint>
#include <string>
#include <string_view>

namespace crier {

inline constexpr std::string_view webhook_signature_header = "X-Crier-Signature";
inline constexpr std::string_view webhook_timestamp_header = "X-Crier-Timestamp";

// Lowercase hex of HMAC-SHA256(key, data).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// The X-Crier-Signature value of `body` sent at `timestamp` (Unix seconds).
std::string webhook_signature(std::string_view secret, std::int64_t timestamp, std::string_view body);

} // namespace crier
