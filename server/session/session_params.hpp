#pragma once
// Who a session is and what it asked for, decided from its HTTP request before it joins a room:
// a WebSocket upgrade and an event stream are admitted by the same rules (http/admission).

#include "common/protocol.hpp"
#include "common/token.hpp"
#include "server/rooms/room.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace crier {

struct session_params {
  std::string room;
  member_info identity;
  wire_format format = wire_format::raw;
  join_options join;
  std::string peer;
  // From the signed token, when the server checks them: what it allows in the room, and when it
  // expires (seconds since the Unix epoch).
  permissions granted = all_permissions;
  std::optional<std::int64_t> expires;
};

} // namespace crier
