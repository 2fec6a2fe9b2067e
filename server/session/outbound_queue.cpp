#include "server/session/outbound_queue.hpp"

namespace crier {

bool outbound_queue::wake_locked() {
  bool const wake = waiting_;
  waiting_ = false;
  return wake;
}

void outbound_queue::discard_pending_locked() {
  discard_.store(true, std::memory_order_release);
  for (auto i = head_; i < pending_.size(); ++i) bytes_ -= pending_[i].size();
  pending_.clear();
  head_ = 0;
  publish_bytes();
}

outbound_queue::push_result outbound_queue::push(frame const& f) {
  std::lock_guard lock(mutex_);
  push_result result;
  if (state_ != state::open) return result;

  auto const size = f.size();
  auto const waiting = [&] { return pending_.size() - head_; };
  auto const count = [&] { return waiting() + in_flight_; };
  // The bound is on what waits behind the writer, so a queue with nothing waiting takes any one
  // message, however big: --max-message-size may be larger than --max-queue-bytes, and a
  // message that can never fit would otherwise close its own sender as a slow consumer. What one
  // session holds stays bounded: the batch in flight, plus the bound.
  auto const fits = [&] {
    return waiting() == 0 || (bytes_ + size <= limits_.max_bytes && count() + 1 <= limits_.max_messages);
  };

  if (!fits()) {
    if (limits_.policy == overflow_policy::close) {
      state_ = state::closing;
      close_ = {1008, "slow consumer"};
      discard_pending_locked();
      result.overflowed = true;
      result.wake = wake_locked();
      return result;
    }
    // Drop from the head; what the writer already took cannot be recalled.
    while (!fits() && head_ < pending_.size()) {
      bytes_ -= pending_[head_].size();
      pending_[head_].payload.reset();
      ++head_;
      ++result.dropped;
    }
    dropped_total_ += result.dropped; // an emptied queue takes the new frame, whatever its size
  }

  auto const half_full = [&] { return 2 * bytes_ > limits_.max_bytes || 2 * count() > limits_.max_messages; };
  bool const was_half_full = half_full();
  pending_.push_back(f);
  pending_hint_.store(pending_.data(), std::memory_order_relaxed);
  bytes_ += size;
  publish_bytes();
  result.filling = !was_half_full && half_full();
  result.wake = wake_locked();
  return result;
}

outbound_queue::close_result outbound_queue::request_close(close_request request, bool discard) {
  std::lock_guard lock(mutex_);
  if (state_ != state::open) return {};
  state_ = state::closing;
  close_ = std::move(request);
  if (discard) discard_pending_locked();
  return {true, wake_locked()};
}

std::uint16_t outbound_queue::decided_close_code() const {
  std::lock_guard lock(mutex_);
  return close_.code;
}

close_request outbound_queue::decided_close() const {
  std::lock_guard lock(mutex_);
  return close_;
}

bool outbound_queue::closing() const {
  std::lock_guard lock(mutex_);
  return state_ != state::open;
}

bool outbound_queue::stop() {
  std::lock_guard lock(mutex_);
  if (state_ == state::stopped) return false;
  state_ = state::stopped;
  discard_pending_locked();
  pending_.shrink_to_fit(); // nothing will be queued again
  pending_hint_.store(nullptr, std::memory_order_relaxed);
  return wake_locked();
}

outbound_queue::take_result outbound_queue::take(std::vector<frame>& batch, close_request& close) {
  std::lock_guard lock(mutex_);
  return take_locked(batch, close);
}

outbound_queue::take_result outbound_queue::take(std::vector<frame>& batch, close_request& close,
                                                 std::size_t finished) {
  std::lock_guard lock(mutex_);
  written_locked(finished);
  return take_locked(batch, close);
}

outbound_queue::take_result outbound_queue::take_locked(std::vector<frame>& batch, close_request& close) {
  if (state_ == state::stopped) return take_result::stop;
  if (head_ < pending_.size()) {
    batch.clear();
    if (head_ > 0) pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
    // Swapping hands over the whole queue without copying; the writer's emptied vector comes
    // back as the new pending_, so steady traffic allocates nothing.
    batch.swap(pending_);
    pending_hint_.store(pending_.data(), std::memory_order_relaxed);
    in_flight_ = batch.size();
    return take_result::batch;
  }
  if (state_ == state::closing) {
    state_ = state::close_taken;
    close = close_;
    return take_result::close;
  }
  if (state_ == state::close_taken) return take_result::stop;
  // Idle: give back memory a burst left behind, so a quiet session stays small (the writer does
  // the same with its batch vector). A few slots stay for the next message.
  if (pending_.capacity() > 4) {
    pending_ = {};
    pending_hint_.store(nullptr, std::memory_order_relaxed);
  }
  waiting_ = true;
  return take_result::idle;
}

void outbound_queue::written(std::size_t bytes) {
  std::lock_guard lock(mutex_);
  written_locked(bytes);
}

void outbound_queue::written_locked(std::size_t bytes) {
  bytes_ -= bytes;
  in_flight_ = 0;
  publish_bytes();
}

std::size_t outbound_queue::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

std::size_t outbound_queue::dropped_total() const {
  std::lock_guard lock(mutex_);
  return dropped_total_;
}

} // namespace crier
