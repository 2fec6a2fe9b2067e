#pragma once
// One WebSocket connection after the HTTP upgrade: a reader coroutine (run(), after the
// handshake) that publishes each message to the room, and a writer coroutine that drains the
// session's bounded outbound queue and sends the pings, and exists only while it has work. Both run on the connection's strand, which is what Beast requires: one read and one
// write in flight. The session is a template over the byte stream: plain TCP or TLS.

#include "server/outbound_queue.hpp"
#include "server/room.hpp"
#include "server/server_state.hpp"
#include "server/write_gate.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <string>

namespace crier {

using plain_stream = boost::beast::tcp_stream;
using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
using upgrade_request = boost::beast::http::request<boost::beast::http::empty_body>;

// Who a session is and what it asked for, decided from the upgrade request.
struct session_params {
  std::string room;
  member_info identity;
  wire_format format = wire_format::raw;
  join_options join;
  std::string peer;
};

// Creates the session for an accepted upgrade and runs it. The caller has reserved a session slot
// (server_state::try_reserve_session); the session gives it back when it ends.
template <class Stream>
void start_ws_session(Stream&& stream, server_state& state, session_params params, upgrade_request req);

template <class Stream>
class ws_session final : public room_member, public std::enable_shared_from_this<ws_session<Stream>> {
public:
  ws_session(Stream&& stream, server_state& state, session_params p);
  ~ws_session();
  ws_session(ws_session const&) = delete;
  ws_session& operator=(ws_session const&) = delete;

  void start(upgrade_request req);

  // room_member: thread-safe, non-blocking.
  void deliver(frame const& f) override;
  void close(std::uint16_t code, std::string_view reason) override;
  wire_format format() const noexcept override { return format_; }
  member_info const& info() const noexcept override { return identity_; }
  std::size_t queued_bytes() const noexcept override { return queue_.bytes_relaxed(); }

private:
  using clock = std::chrono::steady_clock;

  boost::asio::awaitable<void> run(upgrade_request req);
  boost::asio::awaitable<void> writer();
  boost::asio::awaitable<bool> write_batch(std::vector<frame> const& batch);
  boost::asio::awaitable<void> refuse_join(room_registry::refusal why, upgrade_request const& req);
  void handle_text(std::string text);
  bool admit_by_rate();
  void reply(std::string json);
  bool note_protocol_error();
  // On the strand: a close was decided; make sure the session ends within the close timeout even
  // if the peer never reads again.
  void close_decided();
  void request_close(std::uint16_t code, std::string_view reason, bool discard);
  void wake_writer();
  void start_writer();
  void arm_timer();
  void log_closed(boost::system::error_code ec);

  // Beast frames and reads; the gate beneath it lets the writer's batches and Beast's own
  // frames take turns on the socket.
  boost::beast::websocket::stream<write_gate<Stream>> ws_;
  // While the writer is idle (and not running), this timer starts it again when the next ping
  // or idle check is due; start_writer() cancels it.
  boost::asio::steady_timer wake_;
  outbound_queue queue_;
  // Where each message's first bytes land. It lives in the session so that a connection waiting
  // for its next message holds no read buffer on the heap; most chat messages fit in it whole.
  std::array<char, 128> first_bytes_;
  server_state& state_;
  std::shared_ptr<room> room_;
  std::string const room_name_;
  member_info const identity_;
  wire_format const format_;
  join_options const join_;
  std::string const peer_;
  clock::time_point const opened_;
  clock::time_point last_rx_;  // the last time anything arrived from the peer (pongs included)
  clock::time_point next_ping_;
  // Token bucket for --rate-limit.
  double tokens_ = 0;
  clock::time_point refilled_;
  // Times of the latest protocol errors, a ring of the last ten.
  std::array<clock::time_point, 10> error_times_{};
  std::size_t error_count_ = 0;
  std::uint16_t sent_close_code_ = 0; // the close code the server decided on, if it did
  bool deadline_armed_ = false;
  bool writer_running_ = false; // on the strand
  bool rate_logged_ = false;
};

} // namespace crier
