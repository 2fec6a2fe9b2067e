#pragma once
// One WebSocket connection after the HTTP upgrade: a reader coroutine that publishes each message
// to the room, and a writer coroutine that drains the session's bounded outbound queue. Both run
// on the connection's strand, which is what Beast requires: one read and one write in flight.

#include "server/outbound_queue.hpp"
#include "server/room.hpp"
#include "server/server_state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <string>

namespace crier {

class ws_session final : public room_member, public std::enable_shared_from_this<ws_session> {
public:
  using request = boost::beast::http::request<boost::beast::http::empty_body>;

  // Who the session is, decided from the upgrade request.
  struct params {
    std::string room;
    member_info identity;
    wire_format format = wire_format::raw;
    join_options join;
    std::string peer;
  };

  ws_session(boost::beast::tcp_stream&& stream, server_state& state, params p);
  ~ws_session();
  ws_session(ws_session const&) = delete;
  ws_session& operator=(ws_session const&) = delete;

  // Completes the handshake for `req` and runs the session until it closes.
  void start(request req);

  // room_member: thread-safe, non-blocking.
  void deliver(frame const& f) override;
  void close(std::uint16_t code, std::string_view reason) override;
  wire_format format() const noexcept override { return format_; }
  member_info const& info() const noexcept override { return identity_; }

private:
  boost::asio::awaitable<void> run(request req);
  boost::asio::awaitable<void> reader();
  boost::asio::awaitable<void> writer();
  void wake_writer();
  void handle_text(std::string text);
  void reply(std::string json);
  // Counts a protocol error; returns false once there were too many in a minute.
  bool note_protocol_error();
  void log_closed(boost::system::error_code ec);

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  // A timer used as a condition variable: the idle writer waits on it, and wake_writer() cancels
  // it from the strand.
  boost::asio::steady_timer wake_;
  outbound_queue queue_;
  boost::beast::flat_buffer read_buffer_;
  server_state& state_;
  std::shared_ptr<room> room_;
  std::string const room_name_;
  member_info const identity_;
  wire_format const format_;
  join_options const join_;
  std::string const peer_;
  // Times of the latest protocol errors, a ring of the last max_protocol_errors.
  std::array<std::chrono::steady_clock::time_point, 10> error_times_{};
  std::size_t error_count_ = 0;
  std::chrono::steady_clock::time_point const opened_;
  std::uint16_t sent_close_code_ = 0; // the close code the server decided on, if it did
};

} // namespace crier
