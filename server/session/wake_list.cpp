#include "server/session/wake_list.hpp"

#include "server/prefetch.hpp"
#include "server/session/send_ring.hpp"

#include <boost/asio/post.hpp>

#include <iterator>
#include <utility>

namespace crier {

void wake_list::add(std::shared_ptr<wakeable> w, bool may_wait) {
  if (get_io_context().get_executor().running_in_this_thread()) {
    local_.push_back(std::move(w));
    if (!may_wait) hurry();
    if (!std::exchange(local_posted_, true)) boost::asio::post(get_io_context(), [this] { run(); });
    return;
  }
  bool post = false;
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(w));
    post = !std::exchange(posted_, true);
  }
  if (post) boost::asio::post(get_io_context(), [this] { run(); });
  if (!may_wait) hurry();
}

void wake_list::hurry() {
  // The first since the round began ends a wait already begun; only the thread itself may.
  if (get_io_context().get_executor().running_in_this_thread()) {
    if (!std::exchange(local_urgent_, true) && waiting_) window_timer_.cancel();
    return;
  }
  bool end_wait = false;
  {
    std::lock_guard lock(mutex_);
    end_wait = !std::exchange(pending_urgent_, true);
  }
  if (end_wait) boost::asio::post(get_io_context(), [this] {
    if (waiting_) window_timer_.cancel();
  });
}

void wake_list::run() {
  // The run the timer makes takes whatever was added meanwhile, from this thread or another.
  if (waiting_) return;
  if (next_ == running_.size()) {
    // Readers of this thread published since the last look: they may have more, already read,
    // to publish on the next turn. Let them go first.
    if (publishes_seen_ != publishes_ && deferrals_ < max_deferrals) {
      publishes_seen_ = publishes_;
      ++deferrals_;
      boost::asio::post(get_io_context(), [this] { run(); });
      return;
    }
    auto const now = std::chrono::steady_clock::now();
    if (!waited_ && now - round_started_ < batch_window_ && !local_urgent_ && !pending_urgent()) {
      waited_ = true;
      waiting_ = true;
      window_timer_.expires_at(round_started_ + batch_window_);
      // Ended early (cancelled) by an add that may not wait, and by shutdown, which leaves
      // nobody to wake.
      window_timer_.async_wait([this](boost::system::error_code const&) {
        waiting_ = false;
        if (!shut_down_) run();
      });
      return;
    }
    waited_ = false;
    round_started_ = now;
    publishes_seen_ = publishes_;
    deferrals_ = 0;
    running_.clear();
    next_ = 0;
    // A burst of wakes leaves a large vector behind; keep a modest one for the next publish.
    if (running_.capacity() > 4096) running_ = {};
    running_.swap(local_);
    local_posted_ = false;
    local_urgent_ = false;
    std::lock_guard lock(mutex_);
    pending_urgent_ = false;
    if (running_.empty()) {
      running_.swap(pending_);
    } else {
      running_.insert(running_.end(), std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.end()));
      pending_.clear();
    }
    posted_ = false;
  }
  // Adds made while these run (a write's follow-up, another thread's publish) go to local_ or
  // pending_ and post again. A room of thousands is woken a slice at a time, so that the thread's other
  // connections (a reader with a message, a ping) get their turn in between.
  auto const end = std::min(running_.size(), next_ + slice);
  // Read once for the slice, and forgotten when it ends however it ends.
  struct slice_clock {
    slice_clock() noexcept { slice_started_ = std::chrono::steady_clock::now(); }
    ~slice_clock() { slice_started_ = {}; }
  } const reading;
  // The slice's writes collect in the thread's send ring and go to the kernel together below.
  if (ring_ == nullptr) ring_ = &boost::asio::use_service<send_ring>(get_io_context());
  send_ring::collect const collecting(*ring_);
  while (next_ < end) {
    // Each wake-up's write goes through the kernel, which leaves little of the cache behind: the
    // list itself is asked for ahead too (a line holds four entries), then each session's first
    // lines (its vtable pointer, and what prefetch_for_wake reads to know what to ask for), then
    // through it whatever its wake-up will touch.
    if (next_ + 4 * prefetch_ahead < running_.size()) prefetch_object(&running_[next_ + 4 * prefetch_ahead], 1);
    prefetch_walk(next_, end, 3, [&](std::size_t j) { return running_[j].get(); },
                  [&](std::size_t j) { running_[j]->prefetch_for_wake(); });
    auto w = std::move(running_[next_++]);
    w->wake();
    // Between two wake-ups, never inside one (send_ring::full).
    if (ring_->full()) ring_->flush();
  }
  ring_->flush();
  if (next_ < running_.size()) boost::asio::post(get_io_context(), [this] { run(); });
}

bool wake_list::pending_urgent() {
  std::lock_guard lock(mutex_);
  return pending_urgent_;
}

void wake_list::shutdown() {
  // The context is going away with its sessions: drop the references without waking anyone.
  std::vector<std::shared_ptr<wakeable>> pending;
  {
    std::lock_guard lock(mutex_);
    pending.swap(pending_);
  }
  shut_down_ = true;
  window_timer_.cancel();
  running_.clear();
  local_.clear();
}

} // namespace crier
