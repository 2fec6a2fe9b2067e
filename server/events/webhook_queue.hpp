#pragma once
// The webhooks' outbound queue: rooms (and the broker) put events in, from any thread and often
// under a room's lock, and the sender takes them out. Bounded: past `capacity` the oldest events
// are dropped and counted, with one log line per episode, so that a receiver that is down never
// costs more than `capacity` events of memory and never slows a room down.
//
// An event stays queued until a request carrying it is acknowledged (2xx): the sender reads the
// oldest ones with peek() and removes them with acknowledge(), so what is in flight counts
// against the bound too, and a retry carries the oldest events there are then.

#include "common/events.hpp"
#include "server/events/webhook_event.hpp"
#include "server/rooms/room_events.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

namespace crier {

class metrics;

// Thread-safe. Lock order: a room's lock, then this one; it calls nothing back but the wake-up.
class webhook_queue final : public room_events {
public:
  webhook_queue(event_set wanted, std::size_t capacity, metrics& m);

  bool wants(event_type t) const noexcept override { return wanted_.contains(t); }
  // Queues `e`, dropping the oldest past the capacity; once closed, counts it as dropped.
  void on_event(room_event e) override;

  // The sender's side. `wake` is called (under the queue's lock: it must only post) when an event
  // makes the queue reach the size the sender armed for. Cleared with an empty function.
  void set_wake(std::function<void()> wake);
  // Asks for a wake-up once `size` events are queued. False when they already are (no wake-up
  // is armed then).
  bool arm(std::size_t size);
  void disarm();
  // Copies of the oldest `n` events.
  std::vector<numbered_event> peek(std::size_t n) const;
  // Removes the events numbered up to `last` that are still queued; returns how many.
  std::size_t acknowledge(std::uint64_t last);
  // No more events from now on: what is queued is dropped and counted, and so is anything that
  // comes later. Returns how many were dropped now.
  std::size_t close();

  std::size_t size() const;
  std::size_t capacity() const noexcept { return capacity_; }

private:
  event_set const wanted_;
  std::size_t const capacity_;
  metrics& metrics_;
  mutable std::mutex mutex_;
  std::deque<numbered_event> events_;
  std::uint64_t next_ = 1;
  std::function<void()> wake_;
  std::size_t wake_at_ = 0; // 0: no wake-up armed
  bool closed_ = false;
  // Drops since the queue last overflowed, logged when the episode ends: an acknowledgement
  // that leaves room again.
  std::uint64_t episode_drops_ = 0;
};

} // namespace crier
