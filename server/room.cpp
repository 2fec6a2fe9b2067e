#include "server/room.hpp"

#include <algorithm>

namespace crier {

void room::join(room_member* m) {
  std::lock_guard lock(mutex_);
  members_.push_back(m);
}

bool room::leave(room_member* m) {
  std::lock_guard lock(mutex_);
  auto it = std::ranges::find(members_, m);
  if (it != members_.end()) {
    *it = members_.back(); // order among members does not matter; removal is O(1)
    members_.pop_back();
  }
  if (members_.empty()) members_.shrink_to_fit();
  return members_.empty();
}

void room::publish(frame const& f) {
  std::lock_guard lock(mutex_);
  for (auto* m : members_) m->deliver(f);
}

void room::close_all(std::uint16_t code, std::string_view reason) {
  std::lock_guard lock(mutex_);
  for (auto* m : members_) m->close(code, reason);
}

std::size_t room::size() const {
  std::lock_guard lock(mutex_);
  return members_.size();
}

} // namespace crier
