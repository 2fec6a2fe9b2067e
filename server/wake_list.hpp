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

#include <memory>
#include <mutex>
#include <vector>

namespace crier {

// What the wake list wakes; called on the thread of the io_context it was added to.
class wakeable {
public:
  virtual void wake() = 0;

protected:
  ~wakeable() = default;
};

class wake_list final : public boost::asio::io_context::service {
public:
  static inline boost::asio::execution_context::id id;

  explicit wake_list(boost::asio::io_context& ctx) : service(ctx) {}

  // Thread-safe. `w` is woken on this list's context soon, once per add.
  void add(std::shared_ptr<wakeable> w);

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
  std::vector<std::shared_ptr<wakeable>> pending_; // under mutex_
  bool posted_ = false;                             // under mutex_
  std::vector<std::shared_ptr<wakeable>> running_; // on the context's thread
};

} // namespace crier
