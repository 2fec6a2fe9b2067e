#include "server/session/inbound_policy.hpp"

namespace crier {

bool error_window::note(inbound_clock::time_point now) {
  if (!times_) times_ = std::make_unique<std::array<inbound_clock::time_point, allowed>>();
  auto& oldest = (*times_)[count_ % allowed];
  bool const too_many = count_ >= allowed && now - oldest < window;
  oldest = now;
  ++count_;
  return !too_many;
}

} // namespace crier
