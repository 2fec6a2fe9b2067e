#pragma once
// A room: the set of sessions that see each other's messages. It holds plain pointers and never
// owns a session; a session joins after its handshake and leaves before it is destroyed.

#include "server/frame.hpp"

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace crier {

// What a room needs of a member. Both calls come from any thread, with the room's lock held, so
// they must be quick, must not block, and must never call back into the room or the registry.
class room_member {
public:
  virtual void deliver(frame const& f) = 0;
  virtual void close(std::uint16_t code, std::string_view reason) = 0;

protected:
  ~room_member() = default;
};

// Thread-safe.
class room {
public:
  explicit room(std::string name) : name_(std::move(name)) {}

  std::string const& name() const noexcept { return name_; }

  void join(room_member* m);
  // Returns true when the room is empty afterwards.
  bool leave(room_member* m);

  // Delivers `f` to every member, the sender included. Deliveries happen under the lock on
  // purpose: it makes each room a single ordered stream, so every member sees the room's
  // messages in the same order even when several threads publish at once. A delivery only
  // appends a pointer to a bounded queue, so the lock is held for microseconds.
  void publish(frame const& f);

  // Asks every member to close (used by the drain on shutdown).
  void close_all(std::uint16_t code, std::string_view reason);

  std::size_t size() const;

private:
  std::string const name_;
  mutable std::mutex mutex_;
  std::vector<room_member*> members_;
};

} // namespace crier
