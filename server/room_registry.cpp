#include "server/room_registry.hpp"

namespace crier {

std::shared_ptr<room> room_registry::join(std::string const& name, room_member* m) {
  std::lock_guard lock(mutex_);
  if (draining_) return nullptr;
  auto& slot = rooms_[name];
  if (!slot) slot = std::make_shared<room>(name);
  slot->join(m);
  return slot;
}

void room_registry::leave(std::shared_ptr<room> const& r, room_member* m) {
  std::lock_guard lock(mutex_);
  // Emptiness is decided under the registry lock, so a concurrent join cannot slip into a room
  // that is being removed.
  if (r->leave(m)) {
    auto it = rooms_.find(r->name());
    if (it != rooms_.end() && it->second == r) rooms_.erase(it);
  }
}

void room_registry::drain(std::uint16_t code, std::string_view reason) {
  std::lock_guard lock(mutex_);
  draining_ = true;
  for (auto& [name, r] : rooms_) r->close_all(code, reason);
}

std::size_t room_registry::room_count() const {
  std::lock_guard lock(mutex_);
  return rooms_.size();
}

} // namespace crier
