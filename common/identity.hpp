#pragma once
// Identities the server hands out: session ids, guest names and room epochs.

#include <string>

namespace crier {

// `digits` lowercase hex digits from a per-thread generator seeded by std::random_device.
std::string random_hex(std::size_t digits);

// A session id: 12 hex digits (48 random bits), unique across nodes for all practical purposes.
inline std::string new_session_id() { return random_hex(12); }

// "guest-" and 4 hex digits, for clients that give no ?name=.
inline std::string guest_name() { return "guest-" + random_hex(4); }

} // namespace crier
