#include "server/session/send_ring.hpp"

#include "server/logging.hpp"
#include "server/prefetch.hpp"
#include "server/session/write_batch.hpp"

#include <liburing.h>

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace crier {

namespace {
// Writes per system call: a slice of the wake list (256) goes in eight. Saves 31 of every 32
// kernel entries, and a write waits for at most 31 others to be framed.
constexpr unsigned ring_entries = 32;
} // namespace

struct send_ring::ring {
  io_uring uring{};
  ~ring() { io_uring_queue_exit(&uring); }
};

struct send_ring::slot {
  int fd = -1;
  std::size_t total = 0;
  int result = 0;
  std::shared_ptr<ring_sender> owner;
  write_batch batch;
  std::vector<iovec> iov; // for a batch of more than one buffer
  msghdr msg{};
};

send_ring::send_ring(boost::asio::io_context& ctx) : service(ctx) {
  if (!enabled_) return;
  auto r = std::make_unique<ring>();
  if (io_uring_queue_init(ring_entries, &r->uring, 0) != 0) return; // probe() said why, at start
  ring_ = std::move(r);
  slots_.resize(ring_entries);
  capacity_ = slots_.size();
}

send_ring::~send_ring() = default;

std::string send_ring::probe() {
  io_uring r{};
  int const rc = io_uring_queue_init(2, &r, 0);
  if (rc != 0) return std::strerror(-rc);
  io_uring_queue_exit(&r);
  return {};
}

bool send_ring::add(int fd, write_batch& b, std::size_t total, std::shared_ptr<ring_sender> owner) {
  if (!usable() || full()) return false;
  auto& s = slots_[used_];
  s.fd = fd;
  s.total = total;
  s.owner = std::move(owner);
  std::swap(s.batch, b);
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_->uring);
  // Never null: the ring has as many entries as there are slots, and flush() empties both.
  auto const flags = MSG_NOSIGNAL | MSG_DONTWAIT;
  if (s.batch.buffers.size() == 1) {
    io_uring_prep_send(sqe, fd, s.batch.buffers.front().data(), s.batch.buffers.front().size(), flags);
  } else {
    s.iov.clear();
    for (auto const& buf : s.batch.buffers) s.iov.push_back({const_cast<void*>(buf.data()), buf.size()});
    s.msg = {};
    s.msg.msg_iov = s.iov.data();
    s.msg.msg_iovlen = s.iov.size();
    io_uring_prep_sendmsg(sqe, fd, &s.msg, flags);
  }
  io_uring_sqe_set_data64(sqe, used_);
  ++used_;
  return true;
}

void send_ring::flush() {
  auto const n = used_;
  if (n == 0) return;
  int submitted = 0;
  do {
    submitted = io_uring_submit(&ring_->uring);
  } while (submitted == -EINTR);
  auto const made = static_cast<std::size_t>(std::max(submitted, 0)); // the first `made` slots, in order
  // A slot the kernel never took sends its whole batch through the session's gate instead (0
  // bytes sent); one it took without a completion to say what happened cannot be sent again,
  // or the peer could get its bytes twice: -EIO, and the session ends.
  for (std::size_t i = 0; i < n; ++i) slots_[i].result = i < made ? -EIO : 0;
  int rc = 0;
  if (made > 0) {
    sends_.fetch_add(made, std::memory_order_relaxed);
    submits_.fetch_add(1, std::memory_order_relaxed);
    // None of the sends may wait (MSG_DONTWAIT): each has completed during the call, and the
    // wait returns at once.
    io_uring_cqe* first = nullptr;
    do {
      rc = io_uring_wait_cqe_nr(&ring_->uring, &first, static_cast<unsigned>(made));
    } while (rc == -EINTR);
    unsigned head = 0;
    unsigned seen = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(&ring_->uring, head, cqe) {
      auto const i = io_uring_cqe_get_data64(cqe);
      if (i < n) slots_[i].result = cqe->res;
      ++seen;
    }
    io_uring_cq_advance(&ring_->uring, seen);
  }
  if (submitted < 0 || rc < 0 || made < n) {
    // The ring failed, which it should not: give it up, with what it had not sent, and write
    // one send at a time from now on.
    auto const why = std::strerror(submitted < 0 ? -submitted : rc < 0 ? -rc : EAGAIN);
    log_warn("io_uring failed; sends go one at a time from now", {{"error", why}});
    ring_.reset();
    capacity_ = 0;
  }
  used_ = 0;
  // The owners' follow-up writes go out at once: the slots are being read.
  auto* const was = std::exchange(collecting_, nullptr);
  for (std::size_t i = 0; i < n; ++i) {
    if (i + prefetch_ahead < n) prefetch_object(slots_[i + prefetch_ahead].owner.get(), 1);
    if (i + prefetch_ahead / 2 < n) slots_[i + prefetch_ahead / 2].owner->prefetch_for_sent();
    auto& s = slots_[i];
    auto owner = std::move(s.owner);
    owner->sent(s.result, s.batch, s.total);
  }
  collecting_ = usable() ? was : nullptr;
}

void send_ring::shutdown() {
  // The context is going away with its sessions: let go of them without calling them.
  for (auto& s : slots_) s.owner.reset();
  used_ = 0;
}

} // namespace crier
