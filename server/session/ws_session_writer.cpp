// ws_session's writes: what wakes the writer, the synchronous pump that writes what the socket
// takes at once, and the writer coroutine for what has to wait. The rest of the session is in
// ws_session.cpp.
#include "server/session/ws_session.hpp"

#include "server/logging.hpp"
#include "server/net.hpp"
#include "server/prefetch.hpp"
#include "server/session/exact_allocator.hpp"

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <cerrno>
#include <optional>
#include <utility>

namespace crier {

template <class Stream>
void ws_session<Stream>::schedule_wake(bool may_wait) {
  // Called from any thread, often the room's fan-out: the writer may only run on our thread. The
  // session is alive here because it is still a room member, and it leaves its room before it
  // can be destroyed.
  auto self = this->weak_from_this().lock();
  if (!self) return;
  if (waker_ != nullptr) waker_->add(std::move(self), may_wait);
  else asio::post(gate_.get_executor(), [self = std::move(self)] { self->wake(); });
}

template <class Stream>
void ws_session<Stream>::wake() {
  // On the session's thread. Most wake-ups end here: what is queued goes out in one write that the
  // socket takes at once, and no coroutine is made. The writer coroutine is started only for what
  // has to wait: the socket's room, a ping, the close handshake.
  if (writer_running_) return;
  writer_running_ = true;
  auto const s = pump();
  go_on_writing(s);
}

template <class Stream>
void ws_session<Stream>::prefetch_for_delivery() const noexcept {
  // What the fan-out touches here: the reference counts (the wake list takes a reference), the
  // queue, the wake list's address and the format; then the frames the queue holds.
  prefetch_range(fanout_lines_begin(), fanout_lines_end());
  queue_.prefetch_pending();
}

template <class Stream>
void ws_session<Stream>::prefetch_for_wake() const noexcept {
  // What the wake-up and the pump touch here: the reference counts that the wake list's
  // reference drops after, the queue, and the writer's lines through the gate and its socket;
  // then the frames queued.
  prefetch_range(fanout_lines_begin(), fanout_lines_end());
  prefetch_range(writer_lines_begin(), writer_lines_end());
  queue_.prefetch_pending();
}

template <class Stream>
void ws_session<Stream>::go_on_writing(step s) {
  // After a pump: done for now, in the send ring (which calls sent()), or on to the coroutine.
  if (s == step::sending || writer_ends(s)) return;
  asio::co_spawn(gate_.get_executor(), [self = this->shared_from_this(), s] { return self->writer(s); }, asio::detached);
}

template <class Stream>
void ws_session<Stream>::keep_unsent(write_batch& b, std::size_t written) {
  drop_written(b, written);
  // The rest belongs to this session until it is out; `b` starts afresh.
  unsent_ = std::make_unique<write_batch>(std::move(b));
  b = write_batch{};
}

template <class Stream>
void ws_session<Stream>::sent(int result, write_batch& b, std::size_t total) {
  // On the session's thread, when the send ring has made the send pump() handed it; the writer
  // is still running. A socket error ends the session as a failed write in the writer does.
  if (result < 0 && result != -EAGAIN && result != -EWOULDBLOCK) {
    b.frames.clear();
    b.own.clear();
    abort_socket();
    return;
  }
  auto const written = result > 0 ? static_cast<std::size_t>(result) : std::size_t{0};
  step s = step::write_rest;
  if (written < total) {
    keep_unsent(b, written);
  } else {
    state_.metrics().written(b.frames.size(), b.payload_bytes, b.compressed, b.streamed);
    auto const finished = b.payload_bytes;
    b.frames.clear();
    b.own.clear();
    // The ring keeps a batch per slot, 32 per thread: each keeps modest vectors only.
    if (b.bytes.capacity() > 4096 || b.frames.capacity() > 64 || b.buffers.capacity() > 64) b = write_batch{};
    s = pump(finished, true);
  }
  go_on_writing(s);
}

template <class Stream>
void ws_session<Stream>::prefetch_for_sent() const noexcept {
  prefetch_range(fanout_lines_begin(), fanout_lines_end());
  prefetch_range(writer_lines_begin(), writer_lines_end());
}

template <class Stream>
bool ws_session<Stream>::writer_ends(step s) {
  if (s != step::idle && s != step::stopped) return false;
  writer_running_ = false;
  if (s == step::idle) arm_wake_timer(); // the next ping or idle check starts it again
  return true;
}

template <class Stream>
void ws_session<Stream>::arm_wake_timer() {
  auto const& cfg = state_.cfg();
  auto wake_at = clock::time_point::max();
  if (cfg.ping_interval.count() > 0) wake_at = next_ping_;
  if (cfg.idle_timeout.count() > 0) wake_at = std::min(wake_at, last_rx_ + cfg.idle_timeout);
  if (can_park()) wake_at = std::min(wake_at, last_rx_ + cfg.park_after);
  // Left pending while the writer runs, and re-armed only when the wake-up must come earlier
  // than the pending one: one that comes early finds nothing due and arms the timer again, so
  // a connection that keeps talking moves its idle check and its parking about once per
  // --park-after, not on every message.
  if (timer_at_ <= wake_at || wake_at == clock::time_point::max()) return;
  timer_at_ = wake_at;
  wake_timer_.expires_at(wake_at); // cancels a pending wait, whose handler then does nothing
  wake_timer_.async_wait(asio::bind_allocator(exact_allocator<void>(), [self = this->shared_from_this()](boost::system::error_code ec) {
    if (ec) return;
    self->timer_at_ = clock::time_point::max();
    if (self->can_park() && clock::now() - self->last_rx_ >= self->state_.cfg().park_after) self->park();
    self->wake();
  }));
}

namespace {
// The batch being framed and written on this thread: batches that go out at once (most of them)
// need no buffers of their session's own.
thread_local write_batch this_thread_batch;
} // namespace

template <class Stream>
typename ws_session<Stream>::step ws_session<Stream>::pump(std::size_t finished, bool wrote) {
  auto const& cfg = state_.cfg();
  auto& b = this_thread_batch;
  // `wrote`: `finished` holds the bytes of the batch just written, given back to the queue with
  // the next take.
  close_request ignored; // the writer asks the queue for it
  // The clock is read on the first round and every 64th after it: a writer woken for one message
  // (most wake-ups) reads it once, one that keeps finding more still pings and times out. Woken
  // by the wake list, it takes the time the list read for the whole slice.
  for (unsigned round = 0;; ++round) {
    if (round % 64 == 0) {
      auto const now = round == 0 ? wake_list::now() : clock::now();
      if (cfg.idle_timeout.count() > 0 && now - last_rx_ >= cfg.idle_timeout && !queue_.closing()) {
        log_info("ws idle timeout", {{"peer", peer_}, {"room", room_name_}, {"id", identity_.id}});
        state_.metrics().idle_timeout();
        begin_close(websocket::close_code::going_away, "idle timeout", true);
      }
      if (cfg.ping_interval.count() > 0 && now >= next_ping_ && !queue_.closing()) {
        if (wrote) queue_.written(finished);
        return step::ping;
      }
    }
    auto const taken = wrote ? queue_.take(b.frames, ignored, finished) : queue_.take(b.frames, ignored);
    wrote = false;
    switch (taken) {
    case outbound_queue::take_result::idle:
      // The queue has marked the writer waiting under its lock, so a delivery from now on asks
      // for a wake, which runs on this thread after this returns.
      return step::idle;
    case outbound_queue::take_result::stop:
      return step::stopped;
    case outbound_queue::take_result::close:
      return step::close;
    case outbound_queue::take_result::batch:
      break;
    }
    b.payload_bytes = 0;
    for (auto const& f : b.frames) b.payload_bytes += f.size();
    // A close was decided (send nothing more), or Beast is closing (the peer's close came in and
    // Beast has answered it): no data frame may follow a close frame.
    if (!queue_.discarding() && !beast_closing_) {
      auto const deflate = outbound_deflate();
      auto const total = frame_batch(b, deflate_bits_ != 0 ? &deflate : nullptr);
      if constexpr (write_gate<Stream>::is_plain_tcp) {
        // A wake list's slice: the batch joins the slice's other writes, made in one system call.
        if (auto* ring = send_ring::collecting(); ring != nullptr && !gate_.writing() &&
            send_ring::worth_collecting(total) && ring->add(gate_.plain_socket().native_handle(), b, total, this->shared_from_this()))
          return step::sending;
      }
      // Most of the time the socket has room and the batch goes out here and now; what it does
      // not take goes through the gate, in the writer coroutine.
      auto written = gate_.write_now(b.buffers);
      if (written < total) {
        keep_unsent(b, written); // the thread's vectors start afresh
        return step::write_rest;
      }
      state_.metrics().written(b.frames.size(), b.payload_bytes, b.compressed, b.streamed);
    }
    wrote = true;
    finished = b.payload_bytes;
    b.frames.clear();
    // A burst leaves large vectors behind; the thread keeps modest ones.
    if (b.bytes.capacity() > 65536 || b.frames.capacity() > 4096) b = write_batch{};
  }
}

template <class Stream>
asio::awaitable<void> ws_session<Stream>::writer(step s) {
  for (;;) {
    if (writer_ends(s)) co_return;
    switch (s) {
    case step::idle:
    case step::stopped:
      break; // handled above
    case step::sending:
      co_return; // the send ring calls sent(), which goes on from there
    case step::ping: {
      unpark();
      next_ping_ = clock::now() + state_.cfg().ping_interval;
      auto [ec] = co_await ws_->async_ping({}, nothrow);
      if (ec) {
        abort_socket();
        co_return;
      }
      break;
    }
    case step::close: {
      auto const close = queue_.decided_close();
      sent_close_code_ = close.code;
      unpark();
      // The reader (or the wait for readability) sees the end of the handshake, or the close
      // deadline does, and ends the session. The writer stays "running": nothing more is sent.
      co_await ws_->async_close(websocket::close_reason(static_cast<websocket::close_code>(close.code), close.reason),
                               nothrow);
      co_return;
    }
    case step::write_rest: {
      // One call to the gate, not asio::async_write on it: async_write would hand the gate at
      // most 64 buffers at a time, and a pong could take its turn between two of those pieces,
      // in the middle of a frame. The gate itself writes the whole sequence before anything else.
      auto [ec, n] = co_await gate_.async_write_some(unsent_->buffers, nothrow);
      if (ec) {
        // The reader will fail too; make sure it does not wait for data that cannot come.
        abort_socket();
        co_return;
      }
      state_.metrics().written(unsent_->frames.size(), unsent_->payload_bytes, unsent_->compressed, unsent_->streamed);
      queue_.written(unsent_->payload_bytes);
      unsent_.reset();
      break;
    }
    }
    s = pump();
  }
}

template <class Stream>
void ws_session<Stream>::flush_ahead_of_beasts_close() {
  // Open: a ping, a pong or the writer's own rest. Closing by the session's decision: the queue
  // already decided what goes before the close.
  if (!ws_ || ws_->is_open()) return; // parked: nothing of Beast's is being written
  beast_closing_ = true;
  if (queue_.closing() || flushed_ahead_of_close_) return;
  flushed_ahead_of_close_ = true;
  auto batch = std::make_unique<write_batch>();
  close_request ignored;
  if (queue_.take(batch->frames, ignored) != outbound_queue::take_result::batch) return;
  for (auto const& f : batch->frames) batch->payload_bytes += f.size();
  auto const deflate = outbound_deflate();
  frame_batch(*batch, deflate_bits_ != 0 ? &deflate : nullptr);
  // Through the gate, so it goes out after a rest of the writer's already in progress and before
  // the close frame that asked for this turn. The queue's bounds held these bytes, and the close
  // timeout bounds how long the peer may take to read them.
  auto& b = *batch;
  gate_.async_write_some(
    b.buffers, [self = this->shared_from_this(), batch = std::move(batch)](boost::system::error_code ec, std::size_t) {
      if (!ec)
        self->state_.metrics().written(batch->frames.size(), batch->payload_bytes, batch->compressed, batch->streamed);
      self->queue_.written(batch->payload_bytes);
    });
}

template <class Stream>
deflate_policy ws_session<Stream>::outbound_deflate() {
  auto const& cfg = state_.cfg();
  deflate_policy p;
  p.min_size = cfg.compression_min_size;
  p.level = cfg.compression_level;
  // Compressed without context, a message refers back at most its own length.
  if (deflate_bits_ < 15) p.max_size = std::size_t{1} << deflate_bits_;
  if (deflate_follows_) p.sync = &deflate_sync_;
  return p;
}

// The members defined here, one by one: ws_session.cpp instantiates the class itself, and a
// class may be explicitly instantiated only once in a program. (Access is not checked in an
// explicit instantiation, so the private members can be named.)
#define CRIER_WS_SESSION_WRITER(Stream)                                                        \
  template void ws_session<Stream>::wake();                                                     \
  template void ws_session<Stream>::sent(int, write_batch&, std::size_t);                      \
  template void ws_session<Stream>::go_on_writing(step);                                        \
  template void ws_session<Stream>::keep_unsent(write_batch&, std::size_t);                     \
  template void ws_session<Stream>::prefetch_for_sent() const noexcept;                        \
  template void ws_session<Stream>::prefetch_for_wake() const noexcept;                         \
  template void ws_session<Stream>::prefetch_for_delivery() const noexcept;                     \
  template void ws_session<Stream>::schedule_wake(bool);                                          \
  template ws_session<Stream>::step ws_session<Stream>::pump(std::size_t, bool);                                 \
  template bool ws_session<Stream>::writer_ends(step);                                          \
  template asio::awaitable<void> ws_session<Stream>::writer(step);                              \
  template void ws_session<Stream>::arm_wake_timer();                                            \
  template void ws_session<Stream>::flush_ahead_of_beasts_close();                               \
  template deflate_policy ws_session<Stream>::outbound_deflate();
CRIER_WS_SESSION_WRITER(plain_ws_stream)
CRIER_WS_SESSION_WRITER(tls_stream)
#undef CRIER_WS_SESSION_WRITER

} // namespace crier
