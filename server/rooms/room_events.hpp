#pragma once
// Where rooms report what happens on this node, for the webhooks: server/events implements it,
// rooms and the broker only call it. Without --webhook-url there is none, and nothing is built.

#include "common/events.hpp"
#include "common/protocol.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace crier {

struct room_event {
  event_type type = event_type::join;
  std::string room;
  std::int64_t ts = 0; // ms since the epoch
  member_info member;  // join, leave: who; message: who sent it (the server API's own name for it)
  std::uint64_t seq = 0; // message: its seq; 0 when it could not be sequenced (Redis unreachable)
  std::shared_ptr<std::string const> text; // message: the text, shared with the room's history
};

class room_events {
public:
  // Whether events of type `t` are wanted: a room builds none that are not.
  virtual bool wants(event_type t) const noexcept = 0;
  // From any thread, often with a room's lock held: it must only queue the event, never wait for
  // I/O, and never call back into a room.
  virtual void on_event(room_event e) = 0;

protected:
  ~room_events() = default;
};

} // namespace crier
