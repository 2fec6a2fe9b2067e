#pragma once
// One Server-Sent Events subscriber of a room (GET /sse/<room>): a read-only member that gets the
// room's crier.v1 events as SSE events (common/sse.hpp) over a streamed HTTP response. It is a
// room member like a WebSocket session, with the same bounded outbound queue and slow-consumer
// policy, counted against --max-connections, and closed by shutdown and by the server API's
// disconnects; only its transport differs.
//
// Two coroutines on the connection's thread: run() joins, answers the request and then writes
// what is queued (woken through the thread's wake list, like a WebSocket writer) and the
// keep-alive comments; watch() reads the socket only to learn when the client goes away.

#include "server/rooms/room.hpp"
#include "server/server_state.hpp"
#include "server/session/outbound_queue.hpp"
#include "server/session/session_params.hpp"
#include "server/session/wake_list.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace crier {

// How the stream was asked for, beyond who asked: the response's framing and CORS.
struct sse_request {
  unsigned version = 11;    // HTTP/1.1 streams in chunks; HTTP/1.0 until the connection closes
  std::string allow_origin; // a cross-origin EventSource's Origin, echoed; empty: none sent
};

// Creates the subscriber and runs it. The caller has reserved a session slot
// (server_state::try_reserve_session); the subscriber gives it back when it ends.
template <class Stream>
void start_sse_session(Stream&& stream, server_state& state, session_params params, sse_request req);

template <class Stream>
class sse_session final : public room_member,
                          public wakeable,
                          public std::enable_shared_from_this<sse_session<Stream>> {
public:
  sse_session(Stream&& stream, server_state& state, session_params p, sse_request req);
  ~sse_session();
  sse_session(sse_session const&) = delete;
  sse_session& operator=(sse_session const&) = delete;

  void start();

  // room_member: thread-safe, non-blocking.
  void deliver(frame const& f) override;
  void close(std::uint16_t code, std::string_view reason) override;
  wire_format format() const noexcept override { return wire_format::json; }
  member_info const& info() const noexcept override { return identity_; }
  std::size_t queued_bytes() const noexcept override { return queue_.bytes_relaxed(); }
  permissions granted() const noexcept override { return granted_; }
  bool streams_events() const noexcept override { return true; }

  // wakeable: on the session's thread, the writer takes what is queued.
  void wake() override;

private:
  using clock = std::chrono::steady_clock;

  boost::asio::awaitable<void> run();
  boost::asio::awaitable<void> watch();
  // Answers the request: the response's head, then the retry line. False when the client is gone.
  boost::asio::awaitable<bool> open();
  // Writes `body` as one chunk (HTTP/1.1) or as it is; false when the client is gone.
  boost::asio::awaitable<bool> send(std::string const& body);
  // The same for pieces_, the rendered batch.
  boost::asio::awaitable<bool> send_pieces();
  // Renders a batch of frames as SSE events into pieces_: a broadcast's shared rendering where
  // the frame has one (sse_cache), otherwise this stream's own, in body_. Counts what an event
  // stream cannot carry. Returns the bytes rendered.
  std::size_t render(std::vector<frame> const& batch);
  // The end of the stream the server decided: the close event, the last chunk, a half-close.
  boost::asio::awaitable<void> finish(close_request const& why);
  // `may_wait`: for a message the thread's batch window may hold (wake_list::may_wait_for).
  void schedule_wake(bool may_wait);
  // Bounds the time from a close decision to the end, should the client stop reading.
  void arm_close_deadline();
  void abort_socket() noexcept;
  // Once: leave the room, stop the queue, log the close.
  void end(std::string_view by, std::uint16_t code, std::string_view reason);

  Stream stream_;
  boost::asio::steady_timer wake_timer_;
  outbound_queue queue_;
  wake_list* const waker_;
  server_state& state_;
  std::shared_ptr<room> room_;
  std::string const room_name_;
  member_info const identity_;
  std::string const peer_;
  permissions const granted_;
  join_options join_;
  sse_request const request_;
  clock::time_point const opened_;
  // When the token's exp (plus leeway) passes, on the steady clock; max() when it never does.
  clock::time_point expires_at_ = clock::time_point::max();
  std::string epoch_; // the room's, from the welcome: what the ids of messages carry
  std::string body_;  // this stream's own renderings in the batch being written
  std::vector<boost::asio::const_buffer> pieces_; // the batch being written, in order
  bool ended_ = false;
  bool deadline_armed_ = false;
};

} // namespace crier
