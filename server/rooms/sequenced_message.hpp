#pragma once
// A room's text message with its place in the room's order: what history keeps, what a replica
// is seeded with, and what the cluster hands back after sequencing a publish.

#include "common/protocol.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace crier {

struct sequenced_message {
  std::uint64_t seq = 0;
  std::int64_t ts = 0; // ms since the epoch, set where the message was sequenced
  member_info from;
  std::shared_ptr<std::string const> text;
  // Its own node's members already have it, without a seq: Redis was too slow to answer (see
  // broker::local_patience). The seq then only places it in the history.
  bool shown_here = false;
};

} // namespace crier
