#include "server/server_state.hpp"

namespace crier {

void server_state::session_ended() {
  if (sessions_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  std::lock_guard lock(callback_mutex_);
  if (on_idle_) on_idle_();
}

std::optional<std::string> server_state::not_ready_reason() const {
  if (draining_.load(std::memory_order_acquire)) return "draining: shutting down";
  return std::nullopt;
}

void server_state::set_idle_callback(std::function<void()> f) {
  std::lock_guard lock(callback_mutex_);
  on_idle_ = std::move(f);
}

} // namespace crier
