#pragma once
// Per io_context: the sessions whose writers a publish has to wake, woken together by one
// handler. A room's fan-out queues a message for every member; without this, each idle member
// cost its own post (a queued operation, and a wake-up of its thread when that is another one).
// With it, a publish costs one post per thread that has members to wake, however many members
// there are; the thread then writes to each of them in turn.
//
// It is an io_context service, so each thread's context has exactly one, found from a
// session's executor.

#include <boost/asio/io_context.hpp>

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

  explicit wake_list(boost::asio::io_context& ctx) : service(ctx) {}

  // Thread-safe. `w` is woken on this list's context soon, once per add.
  void add(std::shared_ptr<wakeable> w);

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

  std::mutex mutex_;
  std::vector<std::shared_ptr<wakeable>> pending_; // under mutex_: adds from other threads
  bool posted_ = false;                             // under mutex_
  // Adds from the context's own thread (every add, with one thread; a thread's own rooms'
  // members, with more) need no lock: they go here.
  std::vector<std::shared_ptr<wakeable>> local_;
  bool local_posted_ = false;
  // How many sessions one turn of the io_context wakes at most.
  static constexpr std::size_t slice = 256;

  send_ring* ring_ = nullptr;                       // the context's, found on the first run
  std::vector<std::shared_ptr<wakeable>> running_; // on the context's thread
  std::size_t next_ = 0;                            // the next of running_ to wake
  std::uint64_t publishes_seen_ = 0;                // on the context's thread
  int deferrals_ = 0;                               // on the context's thread
  static inline thread_local std::uint64_t publishes_ = 0;
  static inline thread_local std::chrono::steady_clock::time_point slice_started_{};
};

} // namespace crier
