#include "server/events/webhook_queue.hpp"

#include "server/logging.hpp"
#include "server/metrics.hpp"

namespace crier {

webhook_queue::webhook_queue(event_set wanted, std::size_t capacity, metrics& m)
  : wanted_(wanted), capacity_(capacity), metrics_(m) {}

void webhook_queue::on_event(room_event e) {
  std::lock_guard lock(mutex_);
  if (closed_) {
    metrics_.webhook_dropped(1);
    return;
  }
  events_.push_back({next_++, std::move(e)});
  if (events_.size() > capacity_) {
    events_.pop_front();
    metrics_.webhook_dropped(1);
    if (episode_drops_++ == 0)
      log_warn("webhooks: queue full, dropping the oldest events until the receiver catches up",
               {{"queue", capacity_}});
  }
  metrics_.webhook_queued(events_.size());
  if (wake_at_ > 0 && events_.size() >= wake_at_) {
    wake_at_ = 0;
    if (wake_) wake_();
  }
}

void webhook_queue::set_wake(std::function<void()> wake) {
  std::lock_guard lock(mutex_);
  wake_ = std::move(wake);
}

bool webhook_queue::arm(std::size_t size) {
  std::lock_guard lock(mutex_);
  if (events_.size() >= size) {
    wake_at_ = 0;
    return false;
  }
  wake_at_ = size;
  return true;
}

void webhook_queue::disarm() {
  std::lock_guard lock(mutex_);
  wake_at_ = 0;
}

std::vector<numbered_event> webhook_queue::peek(std::size_t n) const {
  std::lock_guard lock(mutex_);
  auto const count = std::min(n, events_.size());
  return {events_.begin(), events_.begin() + static_cast<std::ptrdiff_t>(count)};
}

std::size_t webhook_queue::acknowledge(std::uint64_t last) {
  std::lock_guard lock(mutex_);
  std::size_t removed = 0;
  while (!events_.empty() && events_.front().n <= last) {
    events_.pop_front();
    ++removed;
  }
  metrics_.webhook_queued(events_.size());
  if (episode_drops_ > 0 && events_.size() < capacity_) {
    log_info("webhooks: the receiver is catching up; events were dropped meanwhile", {{"dropped", episode_drops_}});
    episode_drops_ = 0;
  }
  return removed;
}

std::size_t webhook_queue::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  wake_ = {};
  wake_at_ = 0;
  auto const dropped = events_.size();
  events_.clear();
  metrics_.webhook_dropped(dropped);
  metrics_.webhook_queued(0);
  return dropped;
}

std::size_t webhook_queue::size() const {
  std::lock_guard lock(mutex_);
  return events_.size();
}

} // namespace crier
