#pragma once
// A stream layer between Beast's WebSocket stream and the socket that lets whole writes take
// turns. The session's writer sends a batch of pre-framed messages in one gather write through
// it, while Beast keeps writing its own frames (the pongs and close replies its read operation
// sends on its own, and the pings and close frames the writer asks it for) through it too. Each
// write through the gate goes out whole before the next one starts, in the order they were
// asked for, so a frame of Beast's can never land in the middle of the writer's batch, nor the
// other way round. Beast's own writes still see real backpressure: they complete when their
// bytes are in the socket, not when they are queued.
//
// Reads pass through, counted by a frame_tracker. Everything runs on the connection's thread,
// like every other operation on the stream. The session owns the gate, and with it the socket;
// Beast's stream refers to it, so that the session can let the stream go while the connection
// idles and make a new one when it has work for Beast again (ws_session.hpp: parking).

#include "server/session/frame_tracker.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <array>
#include <type_traits>
#include <utility>
#include <vector>

namespace crier {

template <class Next>
class write_gate {
public:
  using next_layer_type = Next;
  using executor_type = typename Next::executor_type;

  explicit write_gate(Next&& next) : next_(std::move(next)) {}
  write_gate(write_gate&&) = default;

  executor_type get_executor() noexcept { return next_.get_executor(); }
  Next& next_layer() noexcept { return next_; }
  Next const& next_layer() const noexcept { return next_; }

  // Reads pass straight through; the tracker sees every byte read, which is what tells the
  // session when Beast has nothing buffered (see frame_tracker.hpp).
  template <class MutableBufferSequence, class ReadToken>
  auto async_read_some(MutableBufferSequence const& buffers, ReadToken&& token) {
    return boost::asio::async_initiate<ReadToken, void(boost::system::error_code, std::size_t)>(
      [this](auto handler, MutableBufferSequence const& b) {
        next_.async_read_some(b, [this, b, h = std::move(handler)](boost::system::error_code ec, std::size_t n) mutable {
          tracker_.consume_buffers(b, n);
          std::move(h)(ec, n);
        });
      },
      token, buffers);
  }

  frame_tracker const& tracker() const noexcept { return tracker_; }

  // Writes all of `buffers` (a "write some" that always writes everything, which the concept
  // allows), after every write asked for earlier has finished. The unit that goes out whole is
  // one call: a caller that must not be split passes its whole sequence at once (asio::async_write
  // would pass at most 64 buffers per call). Beast's control frames are a few buffers each.
  // Each call, before and after, is one frame or more, so the pieces of Beast's composed writes
  // may have other frames between them, which RFC 6455 allows for control frames.
  template <class ConstBufferSequence, class WriteToken>
  auto async_write_some(ConstBufferSequence const& buffers, WriteToken&& token) {
    return boost::asio::async_initiate<WriteToken, void(boost::system::error_code, std::size_t)>(
      [this](auto handler, ConstBufferSequence const& b) {
        // The owner may put a write of its own ahead of this one (it calls async_write_some
        // itself, so that write takes its turn first).
        if (before_write_ != nullptr) before_write_(owner_);
        if (!busy_) {
          busy_ = true;
          start(b, std::move(handler));
        } else {
          // Waiting its turn: keep the buffer descriptors (the caller keeps the bytes alive until
          // its handler runs) and the handler, type-erased. Only Beast's control frames and the
          // writer's next batch ever wait here, so this is rare and small.
          waiting_.push_back({std::vector<boost::asio::const_buffer>(boost::asio::buffer_sequence_begin(b),
                                                                     boost::asio::buffer_sequence_end(b)),
                              handler_type(std::move(handler))});
        }
      },
      token, buffers);
  }

  // True while a write is in progress or waiting.
  bool writing() const noexcept { return busy_; }

  // The synchronous half of the stream concepts, for one caller only: Beast's answer to the
  // request that reopens the WebSocket stream of a parked connection (ws_session::unpark), which
  // must not reach the peer, who had its handshake long ago. While a drop_writes is alive these
  // writes are taken and dropped; otherwise (and every synchronous read) they fail, so that no
  // other synchronous use can creep in unnoticed.
  class drop_writes {
  public:
    explicit drop_writes(write_gate& g) noexcept : g_(g) { g_.dropping_ = true; }
    ~drop_writes() { g_.dropping_ = false; }
    drop_writes(drop_writes const&) = delete;
    drop_writes& operator=(drop_writes const&) = delete;

  private:
    write_gate& g_;
  };
  template <class ConstBufferSequence>
  std::size_t write_some(ConstBufferSequence const& buffers, boost::system::error_code& ec) {
    if (!dropping_) {
      ec = boost::asio::error::operation_not_supported;
      return 0;
    }
    ec = {};
    return boost::asio::buffer_size(buffers);
  }
  template <class ConstBufferSequence>
  std::size_t write_some(ConstBufferSequence const& buffers) {
    boost::system::error_code ec;
    auto const n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  template <class MutableBufferSequence>
  std::size_t read_some(MutableBufferSequence const&, boost::system::error_code& ec) {
    ec = boost::asio::error::operation_not_supported;
    return 0;
  }
  template <class MutableBufferSequence>
  std::size_t read_some(MutableBufferSequence const& buffers) {
    boost::system::error_code ec;
    read_some(buffers, ec);
    throw boost::system::system_error(ec);
  }

  // `hook(owner)` runs on the connection's thread each time an asynchronous write is asked for,
  // before it takes its turn. The session uses it to send what it has queued ahead of a close
  // frame Beast writes on its own. A plain function and a pointer: every connection has a gate.
  void before_each_write(void (*hook)(void*), void* owner) noexcept {
    before_write_ = hook;
    owner_ = owner;
  }

  // Writes what the socket takes of `buffers` right now, without waiting, if no write is in
  // progress, and returns how many bytes that was (usually all of them: the socket has room).
  // A synchronous write on the connection's thread cannot interleave with anything. This saves the whole
  // asynchronous machinery for the common case of a reader that keeps up. Plain TCP only: a TLS
  // stream must encrypt, so it always returns 0 there, as it does when anything goes wrong (the
  // asynchronous write that follows then meets the error).
  template <class ConstBufferSequence>
  std::size_t write_now(ConstBufferSequence const& buffers) {
    if constexpr (is_plain_tcp) {
      if (busy_) return 0;
      auto& socket = plain_socket();
      boost::system::error_code ec;
      if (!socket.non_blocking()) socket.non_blocking(true, ec); // only synchronous calls care
      if (ec) return 0;
      std::size_t n = 0;
      // One contiguous buffer (a batch of chat-sized frames always is) as a single buffer:
      // Asio then calls send() rather than sendmsg(), which saves importing an iovec per write.
      if constexpr (requires { buffers.size(); buffers.front(); }) {
        n = buffers.size() == 1 ? socket.write_some(boost::asio::const_buffer(buffers.front()), ec) : socket.write_some(buffers, ec);
      } else {
        n = socket.write_some(buffers, ec);
      }
      return ec ? 0 : n;
    } else {
      return 0;
    }
  }

  // A bare TCP socket (or Beast's tcp_stream around one) rather than TLS: the session reads and
  // writes the socket directly only then.
  static constexpr bool is_plain_tcp =
    requires(Next& n) { n.non_blocking(); } || (requires(Next& n) { n.socket(); } && !requires(Next& n) { n.next_layer(); });

  auto& plain_socket() noexcept
    requires is_plain_tcp
  {
    if constexpr (requires { next_.socket(); }) return next_.socket();
    else return next_;
  }

private:
  using handler_type = boost::asio::any_completion_handler<void(boost::system::error_code, std::size_t)>;
  struct waiting_write {
    std::vector<boost::asio::const_buffer> buffers;
    handler_type handler;
  };

  template <class Buffers, class Handler>
  void start(Buffers const& buffers, Handler&& handler) {
    boost::asio::async_write(next_, buffers,
                             [this, h = std::forward<Handler>(handler)](boost::system::error_code ec, std::size_t n) mutable {
                               next_turn();
                               std::move(h)(ec, n);
                             });
  }

  // Starts the oldest waiting write, if any, before the finished write's handler runs, so that
  // the order writes were asked in is the order they go out.
  void next_turn() {
    if (waiting_.empty()) {
      busy_ = false;
      return;
    }
    auto w = std::move(waiting_.front());
    waiting_.erase(waiting_.begin());
    start(std::move(w.buffers), std::move(w.handler));
  }

  // busy_ beside the socket: a writer that keeps up reads the two and nothing else of the gate.
  bool busy_ = false;
  bool dropping_ = false; // a drop_writes is alive
  Next next_;
  frame_tracker tracker_;
  // A vector, not a deque: libstdc++'s deque allocates even when empty, and every connection
  // has a gate.
  std::vector<waiting_write> waiting_;
  void (*before_write_)(void*) = nullptr;
  void* owner_ = nullptr;
};

namespace detail {
// Tears a plain TCP connection down after the closing handshake, or after Beast failed it: a
// half-close, then reading (and dropping) what the peer still sends until its FIN, then the close.
// Closing a socket that has unread bytes makes the kernel send an RST, and an RST can destroy
// what the peer has not read yet: the close frame, and the messages ahead of it. Beast's own TCP
// teardown stops reading after its first 2 KiB whatever is left, so a peer failed for a message
// over --max-message-size would often get the RST. The WebSocket stream's close timeout bounds
// the time; `max_drained` bounds the bytes.
template <class Socket>
struct drain_then_close {
  static constexpr std::size_t max_drained = std::size_t{1} << 20;
  Socket& socket;
  std::size_t drained = 0;
  bool started = false;

  template <class Self>
  void operator()(Self& self, boost::system::error_code ec = {}) {
    boost::system::error_code ignored;
    if (!started) {
      started = true;
      socket.shutdown(Socket::shutdown_send, ec);
      if (!ec) socket.non_blocking(true, ec);
      // Always through a wait, so the handler never runs inside the initiating call.
      if (!ec) return socket.async_wait(Socket::wait_read, std::move(self));
    }
    while (!ec) {
      std::array<char, 2048> sink;
      auto const n = socket.read_some(boost::asio::buffer(sink), ec);
      if (ec == boost::asio::error::would_block) return socket.async_wait(Socket::wait_read, std::move(self));
      drained += n;
      if (!ec && drained >= max_drained) break;
    }
    if (ec == boost::asio::error::eof) ec = {};
    socket.close(ignored);
    self.complete(ec);
  }
};
} // namespace detail

// Beast tears a WebSocket connection down through these once the close handshake is done (or
// the connection failed). TLS has its close_notify to send: Beast's own teardown does that.
template <class Next>
void teardown(boost::beast::role_type role, write_gate<Next>& s, boost::system::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, s.next_layer(), ec);
}

template <class Next, class TeardownHandler>
void async_teardown(boost::beast::role_type role, write_gate<Next>& s, TeardownHandler&& handler) {
  if constexpr (write_gate<Next>::is_plain_tcp) {
    auto& socket = s.plain_socket();
    boost::asio::async_compose<TeardownHandler, void(boost::system::error_code)>(
      detail::drain_then_close<std::remove_reference_t<decltype(socket)>>{socket}, handler, socket);
  } else {
    using boost::beast::websocket::async_teardown;
    async_teardown(role, s.next_layer(), std::forward<TeardownHandler>(handler));
  }
}

} // namespace crier
