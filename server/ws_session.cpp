#include "server/ws_session.hpp"

#include "common/utf8.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <spdlog/spdlog.h>

namespace crier {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

// The close code Beast sent when it failed the connection for `ec` (RFC 6455 section 7.4).
std::uint16_t close_code_for(boost::system::error_code ec) {
  if (ec == websocket::error::message_too_big) return websocket::close_code::too_big;
  if (ec == websocket::error::bad_frame_payload) return websocket::close_code::bad_payload;
  if (ec == websocket::condition::protocol_violation)
    return websocket::close_code::protocol_error;
  return 0;
}

} // namespace

ws_session::ws_session(beast::tcp_stream&& stream, server_state& state, std::string room_name, std::string peer)
  : ws_(std::move(stream)),
    wake_(ws_.get_executor()),
    queue_(queue_limits{state.cfg().max_queue_bytes, state.cfg().max_queue_messages, overflow_policy::close}),
    state_(state),
    room_name_(std::move(room_name)),
    peer_(std::move(peer)),
    opened_(std::chrono::steady_clock::now()) {
  state_.session_started();
}

ws_session::~ws_session() { state_.session_ended(); }

void ws_session::start(request req) {
  asio::co_spawn(ws_.get_executor(), [self = shared_from_this(), r = std::move(req)]() mutable {
    return self->run(std::move(r));
  }, [peer = peer_](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (std::exception const& ex) {
      spdlog::error("ws session {} failed: {}", peer, ex.what());
    }
  });
}

void ws_session::deliver(frame const& f) {
  auto const result = queue_.push(f);
  if (result.overflowed) {
    spdlog::warn("ws slow consumer peer={} room={}: outbound queue over its bound, closing with 1008",
                 peer_, room_name_);
  }
  if (result.wake) wake_writer();
}

void ws_session::close(std::uint16_t code, std::string_view reason) {
  // Shutdown: what is already queued still goes out, then the close frame.
  if (queue_.request_close(close_request{code, std::string(reason)}, false)) wake_writer();
}

void ws_session::wake_writer() {
  // Called from other strands: the timer may only be touched on ours. The session is alive here
  // because it is still a room member, and it leaves its room before it can be destroyed.
  if (auto self = weak_from_this().lock()) {
    asio::post(ws_.get_executor(), [self = std::move(self)] { self->wake_.cancel(); });
  }
}

asio::awaitable<void> ws_session::run(request req) {
  auto const& cfg = state_.cfg();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = cfg.handshake_timeout; // also bounds the closing handshake
  timeouts.idle_timeout = std::chrono::seconds(50);  // a ping after 25 s of silence
  timeouts.keep_alive_pings = true;
  ws_.set_option(timeouts);
  ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
    res.set(http::field::server, "crier/" CRIER_VERSION);
  }));
  ws_.read_message_max(cfg.max_message_size);
  // Whole messages as single frames: one write per message instead of one per 4 KiB.
  ws_.auto_fragment(false);

  // Join before the handshake completes: once a client has its 101 response it is a member, and
  // whatever the room publishes from then on waits in the queue until the writer starts.
  room_ = state_.rooms().join(room_name_, this);
  auto [ec] = co_await ws_.async_accept(req, nothrow);
  if (ec) {
    spdlog::info("ws handshake failed peer={} room={}: {}", peer_, room_name_, ec.message());
    if (room_) state_.rooms().leave(room_, this);
    co_return;
  }
  if (!room_) {
    // Draining began between the upgrade request and now.
    sent_close_code_ = websocket::close_code::going_away;
    co_await ws_.async_close(websocket::close_reason(websocket::close_code::going_away, "going away"), nothrow);
    co_return;
  }
  spdlog::info("ws open peer={} room={}", peer_, room_name_);

  asio::co_spawn(ws_.get_executor(), [self = shared_from_this()] { return self->writer(); }, asio::detached);
  co_await reader();
}

asio::awaitable<void> ws_session::reader() {
  boost::system::error_code ec;
  bool failing = false; // a close was requested for a bad message: publish nothing more
  for (;;) {
    std::size_t n = 0;
    std::tie(ec, n) = co_await ws_.async_read(read_buffer_, nothrow);
    if (ec) break;
    // One copy out of the read buffer into the immutable payload that every member shares.
    auto payload = beast::buffers_to_string(read_buffer_.data());
    read_buffer_.consume(n);
    if (failing) continue;
    if (ws_.got_text() && !is_valid_utf8(payload)) {
      // Beast checks UTF-8 as frames arrive, but it skips the end-of-message check when the last
      // fragment is empty, so "\xce" followed by an empty final continuation reaches us as a
      // complete text message. RFC 6455 section 8.1 says to fail the connection with 1007; the
      // writer sends the close, and reading goes on until the peer answers or the close times out.
      spdlog::info("ws peer={} room={} sent a text message that is not UTF-8", peer_, room_name_);
      failing = true;
      if (queue_.request_close(close_request{websocket::close_code::bad_payload, "invalid UTF-8"}, true))
        wake_.cancel();
      continue;
    }
    room_->publish(make_frame(std::move(payload), !ws_.got_text()));
    // A large message must not pin its buffer for the rest of a quiet session.
    if (read_buffer_.capacity() > 64 * 1024) read_buffer_.shrink_to_fit();
  }
  state_.rooms().leave(room_, this);
  if (queue_.stop()) wake_.cancel();
  log_closed(ec);
}

asio::awaitable<void> ws_session::writer() {
  std::vector<frame> batch;
  close_request close;
  for (;;) {
    switch (queue_.take(batch, close)) {
    case outbound_queue::take_result::idle: {
      wake_.expires_at(asio::steady_timer::time_point::max());
      co_await wake_.async_wait(nothrow);
      continue;
    }
    case outbound_queue::take_result::stop:
      co_return;
    case outbound_queue::take_result::close: {
      sent_close_code_ = close.code;
      // The reader sees the peer's answer (or the close timeout) and ends the session.
      co_await ws_.async_close(websocket::close_reason(static_cast<websocket::close_code>(close.code), close.reason), nothrow);
      co_return;
    }
    case outbound_queue::take_result::batch:
      break;
    }
    std::size_t taken = 0;
    for (auto const& f : batch) taken += f.size();
    for (auto const& f : batch) {
      if (queue_.discarding()) break; // a close was decided: send nothing more
      ws_.binary(f.binary);
      auto [ec, n] = co_await ws_.async_write(asio::buffer(*f.payload), nothrow);
      if (ec) {
        // The reader will fail too; make sure it does not wait for data that cannot come.
        beast::get_lowest_layer(ws_).close();
        co_return;
      }
    }
    queue_.written(taken);
    batch.clear();
  }
}

void ws_session::log_closed(boost::system::error_code ec) {
  auto const duration_ms =
    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - opened_).count();
  auto const& reason = ws_.reason();
  if (sent_close_code_ != 0) {
    // The server decided to close; the pending read ends with `closed` or `operation_aborted`.
    spdlog::info("ws close peer={} room={} code={} by=server duration_ms={}", peer_, room_name_, sent_close_code_,
                 duration_ms);
    return;
  }
  if (ec == websocket::error::closed) {
    auto const code = reason.code == websocket::close_code::none ? std::uint16_t{1005} // no status sent
                                                                  : static_cast<std::uint16_t>(reason.code);
    spdlog::info("ws close peer={} room={} code={} reason='{}' by=client duration_ms={}", peer_, room_name_, code,
                 std::string_view(reason.reason.data(), reason.reason.size()), duration_ms);
    return;
  }
  auto const code = close_code_for(ec);
  if (code != 0) {
    spdlog::info("ws close peer={} room={} code={} by=server error='{}' duration_ms={}", peer_, room_name_, code,
                 ec.message(), duration_ms);
  } else {
    spdlog::info("ws close peer={} room={} error='{}' duration_ms={}", peer_, room_name_, ec.message(),
                 duration_ms);
  }
}

} // namespace crier
