#pragma once
// The rooms of this process, by name. A room is created by its first member and removed with its
// last. Once draining starts, nobody joins any more.

#include "server/room.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace crier {

// Thread-safe. Lock order: the registry's lock, then a room's.
class room_registry {
public:
  // Adds `m` to the named room, creating it. Returns nullptr once draining has begun.
  std::shared_ptr<room> join(std::string const& name, room_member* m);
  void leave(std::shared_ptr<room> const& r, room_member* m);

  // Stops all joins and asks every member of every room to close.
  void drain(std::uint16_t code, std::string_view reason);

  std::size_t room_count() const;

private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<room>> rooms_;
  bool draining_ = false;
};

} // namespace crier
