#include "server/session/wake_list.hpp"

#include "server/prefetch.hpp"
#include "server/session/send_ring.hpp"

#include <boost/asio/post.hpp>

#include <iterator>
#include <utility>

namespace crier {

void wake_list::add(std::shared_ptr<wakeable> w) {
  if (get_io_context().get_executor().running_in_this_thread()) {
    local_.push_back(std::move(w));
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
}

void wake_list::run() {
  if (next_ == running_.size()) {
    // Readers of this thread published since the last look: they may have more, already read,
    // to publish on the next turn. Let them go first.
    if (publishes_seen_ != publishes_ && deferrals_ < max_deferrals) {
      publishes_seen_ = publishes_;
      ++deferrals_;
      boost::asio::post(get_io_context(), [this] { run(); });
      return;
    }
    publishes_seen_ = publishes_;
    deferrals_ = 0;
    running_.clear();
    next_ = 0;
    // A burst of wakes leaves a large vector behind; keep a modest one for the next publish.
    if (running_.capacity() > 4096) running_ = {};
    running_.swap(local_);
    local_posted_ = false;
    std::lock_guard lock(mutex_);
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

void wake_list::shutdown() {
  // The context is going away with its sessions: drop the references without waking anyone.
  std::vector<std::shared_ptr<wakeable>> pending;
  {
    std::lock_guard lock(mutex_);
    pending.swap(pending_);
  }
  running_.clear();
  local_.clear();
}

} // namespace crier
