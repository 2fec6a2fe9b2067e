#pragma once
// Per io_context: the sessions whose writers a publish has to wake, woken together by one
// handler. A room's fan-out queues a message for every member; without this, each idle member
// cost its own post (a queued operation, and a wake-up of its thread when that is another one).
// With it, a publish costs one post per thread that has members to wake, however many members
// there are; the thread then writes to each of them in turn. Its batch window (--batch-window)
// keeps a thread's rounds of wake-ups apart, so that a busy room's writes each carry several
// messages.
//
// It is an io_context service, so each thread's context has exactly one, found from a
// session's executor.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace crier {

class send_ring;

// What the wake list wakes; called on the thread of the io_context it was added to.
class wakeable {
public:
  virtual void wake() = 0;
  // Called a few wake-ups ahead of wake(), on the same thread, once the object's first line is
  // in the cache: asks for what wake() will touch beyond that line (a hint; it must not block or
  // change anything).
  virtual void prefetch_for_wake() const noexcept {}

protected:
  ~wakeable() = default;
};

class wake_list final : public boost::asio::io_context::service {
public:
  static inline boost::asio::execution_context::id id;

  // The timer is made here, not on first use, so that its own service is made before this one and
  // so outlives it.
  explicit wake_list(boost::asio::io_context& ctx) : service(ctx), window_timer_(ctx) {}

  // Thread-safe. `w` is woken on this list's context soon, once per add. `may_wait`: the add is
  // for a message that batching helps (may_wait_for), so its round may wait for the batch window;
  // a round with any add that may not (a big message, a close, a queue past half its bound)
  // starts as soon as it can.
  void add(std::shared_ptr<wakeable> w, bool may_wait);
  // Thread-safe. The next round may not wait for the batch window, and a wait already begun ends:
  // for a member whose wake-up is already on its way when its queue passes half a bound.
  void hurry();
  // Whether a message of `bytes` is worth holding for the batch window. A write's fixed cost is
  // most of what a small message costs to send, and nothing next to a big one's copying: in a
  // room of 10 members sending 64 KiB messages, the window made each write carry 4.7–6.3 messages
  // for no less CPU per delivery, and added a millisecond to the p99 (docs/performance.md).
  static constexpr std::size_t batchable_below = 2048;
  static constexpr bool may_wait_for(std::size_t bytes) noexcept { return bytes < batchable_below; }

  // The clock as a wake-up may read it: while this thread's list wakes a slice of sessions, the
  // time that slice started, read once for all of them; otherwise the clock itself. Good enough
  // for what a wake-up times (pings and idle checks, seconds apart): a slice is over within a
  // couple of milliseconds. A big room wakes every member once per broadcast, and one clock read
  // per member was a measurable part of a delivery (docs/performance.md).
  static std::chrono::steady_clock::time_point now() noexcept {
    return slice_started_ != std::chrono::steady_clock::time_point{} ? slice_started_ : std::chrono::steady_clock::now();
  }

  // A reader on this thread has just published a message. While readers keep publishing, the
  // wake-up is put off by a few turns of the io_context (at most max_deferrals), so that what
  // they publish in those turns goes out in the same writes: one write per member for several
  // messages instead of one per message. When the publishing stops, the writes go out on the
  // next turn.
  static void note_publish() noexcept { ++publishes_; }
  static constexpr int max_deferrals = 4;

  // The least time from the start of one round of wake-ups to the start of the next on a thread
  // (--batch-window): a round that would come sooner waits on a timer, and what is published
  // meanwhile goes out in its writes. Readers run during the wait, so a thread whose rounds are
  // cheap does not wake every member for one or two messages at a time: in a busy room, writes
  // that small cost the server per message what they save it per write, and cost the clients
  // more (docs/performance.md). A round that comes later than this never waits. Set once, before
  // any thread runs; 0 starts each round as soon as the thread is free.
  static void set_batch_window(std::chrono::microseconds window) noexcept { batch_window_ = window; }

  // The list of the io_context behind `ex`, or null when `ex` is not an io_context's executor.
  template <class Executor>
  static wake_list* of(Executor const& ex) {
    if constexpr (requires { ex.template target<boost::asio::io_context::executor_type>(); }) {
      if (auto const* ioc = ex.template target<boost::asio::io_context::executor_type>())
        return &boost::asio::use_service<wake_list>(ioc->context());
      return nullptr;
    } else {
      return &boost::asio::use_service<wake_list>(ex.context());
    }
  }

private:
  void shutdown() override;
  void run();
  bool pending_urgent();

  std::mutex mutex_;
  std::vector<std::shared_ptr<wakeable>> pending_; // under mutex_: adds from other threads
  bool posted_ = false;                             // under mutex_
  bool pending_urgent_ = false;                     // under mutex_: an add of pending_ may not wait
  // Adds from the context's own thread (every add, with one thread; a thread's own rooms'
  // members, with more) need no lock: they go here.
  std::vector<std::shared_ptr<wakeable>> local_;
  bool local_posted_ = false;
  bool local_urgent_ = false; // an add of local_ may not wait
  // How many sessions one turn of the io_context wakes at most.
  static constexpr std::size_t slice = 256;

  send_ring* ring_ = nullptr;                       // the context's, found on the first run
  std::vector<std::shared_ptr<wakeable>> running_; // on the context's thread
  std::size_t next_ = 0;                            // the next of running_ to wake
  std::uint64_t publishes_seen_ = 0;                // on the context's thread
  int deferrals_ = 0;                               // on the context's thread
  // When the last round started; whether the round about to start has already waited for the
  // batch window (it then starts whatever the clock says), and whether it is waiting now.
  std::chrono::steady_clock::time_point round_started_{};
  bool waited_ = false;
  bool waiting_ = false;
  bool shut_down_ = false;
  boost::asio::steady_timer window_timer_;
  static inline std::chrono::microseconds batch_window_{0};
  static inline thread_local std::uint64_t publishes_ = 0;
  static inline thread_local std::chrono::steady_clock::time_point slice_started_{};
};

} // namespace crier
