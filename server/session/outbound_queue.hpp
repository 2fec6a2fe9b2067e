#pragma once
// A session's bounded queue of outgoing frames. Publishers on any thread push; the session's
// writer coroutine takes everything queued in one batch. The bounds are in bytes and in messages,
// and what happens past them is a named policy, so a stalled reader holds a known amount of
// memory however busy its room is.

#include "common/policies.hpp"
#include "server/prefetch.hpp"
#include "server/rooms/frame.hpp"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace crier {

struct queue_limits {
  std::size_t max_bytes = 4 * 1024 * 1024;
  std::size_t max_messages = 4096;
  overflow_policy policy = overflow_policy::close;
};

struct close_request {
  std::uint16_t code = 0;
  std::string reason;
};

class outbound_queue {
public:
  struct push_result {
    bool wake = false;       // the writer was idle: wake it
    bool overflowed = false; // this push crossed a bound under the close policy
    std::size_t dropped = 0; // frames dropped under the drop-oldest policy
    // This push took what waits past half of a bound: the writer should not be kept waiting (a
    // batch window would otherwise let a burst fill the queue to its bound).
    bool filling = false;
  };

  enum class take_result {
    batch, // `batch` holds frames to write; call written() when they are out
    close, // send `close` and stop
    stop,  // the session is over; the writer exits
    idle,  // nothing to do; the writer is marked waiting and the next push wakes it
  };

  explicit outbound_queue(queue_limits limits) : limits_(limits) {}

  push_result push(frame const& f);

  struct close_result {
    bool decided = false; // this call made the decision (a second request is ignored)
    bool wake = false;    // the writer was idle: wake it
  };
  // Requests a close after what is queued (discard = false) or instead of it (discard = true).
  close_result request_close(close_request request, bool discard);

  // True from the close decision on: inbound messages are no longer acted on.
  bool closing() const;
  std::size_t bytes_relaxed() const noexcept { return bytes_seen_.load(std::memory_order_relaxed); }

  // The session has ended: drop everything, accept nothing more. Returns true to wake the writer.
  bool stop();

  take_result take(std::vector<frame>& batch, close_request& close);
  // The same, once the previous batch is written: `finished` is what written() would be told of
  // it, given back under the same lock, since a writer that keeps up takes again as soon as it
  // wrote. (Two overloads rather than an optional: the writer calls this once per delivery, and
  // an optional it keeps on the stack is stored in two halves and read back whole, which the CPU
  // cannot forward from its store buffer.)
  take_result take(std::vector<frame>& batch, close_request& close, std::size_t finished);

  // The writer has finished with `bytes` taken earlier.
  void written(std::size_t bytes);

  // Asks the cache for the frames waiting (a hint, from any thread: it takes no lock).
  void prefetch_pending() const noexcept { prefetch_object(pending_hint_.load(std::memory_order_relaxed), 2); }

  // True once a discarding close was decided: the writer stops sending mid-batch. Without the
  // lock: the writer asks once per batch.
  bool discarding() const noexcept { return discard_.load(std::memory_order_acquire); }

  // The close code decided on (slow consumer, shutdown...), or 0 when none was.
  std::uint16_t decided_close_code() const;
  // The close decided on: code and reason.
  close_request decided_close() const;

  std::size_t bytes() const;
  std::size_t dropped_total() const;

private:
  enum class state { open, closing, close_taken, stopped };

  bool wake_locked();
  // Drops every frame not yet taken and marks the queue discarding, so the writer stops mid-batch
  // too. Frames already taken stay in bytes_ until written() gives them back. Under the lock.
  void discard_pending_locked();

  void written_locked(std::size_t bytes);
  take_result take_locked(std::vector<frame>& batch, close_request& close);
  void publish_bytes() noexcept { bytes_seen_.store(bytes_, std::memory_order_relaxed); }

  // What a delivery and a write touch first (the lock and the vector), the rest after.
  mutable std::mutex mutex_;
  state state_ = state::open;
  bool waiting_ = false;
  // Written under the lock, read without it (discarding()).
  std::atomic<bool> discard_{false};
  std::vector<frame> pending_;
  // pending_.data(), readable without the lock, for prefetch_pending().
  std::atomic<frame const*> pending_hint_{nullptr};
  std::size_t head_ = 0;        // frames before head_ were dropped and are already released
  std::size_t bytes_ = 0;       // pending plus taken-but-not-written bytes
  std::size_t in_flight_ = 0;   // frames taken by the writer, not yet written
  // bytes_, readable without the lock, for gauges summed at scrape time.
  std::atomic<std::size_t> bytes_seen_{0};
  queue_limits limits_;
  std::size_t dropped_total_ = 0;
  close_request close_;
};

} // namespace crier
