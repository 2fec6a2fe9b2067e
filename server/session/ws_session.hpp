#pragma once
// One WebSocket connection after the HTTP upgrade. Its reader and writer are coroutines that
// exist only while they have work:
// - the writer drains the session's bounded outbound queue and sends the pings. Most of the
//   time a wake-up writes what is queued there and then, without a coroutine; the coroutine
//   takes over when a write must wait for the socket, or for a ping or the close handshake.
// - the reader reads messages and publishes them to the room. A plain-TCP connection with
//   nothing more to read waits for readability on the bare socket (frame_tracker.hpp says when
//   Beast holds no unread bytes), so an idle connection holds no Beast read and no coroutine.
// - parking: an idle plain-TCP connection without permessage-deflate needs nothing of Beast's
//   stream, which is most of what it costs in memory (docs/performance.md). After --park-after
//   with nothing from the peer, the session lets the stream go and keeps only the socket and its
//   gate; deliveries go on through the gate. Before Beast has anything to do again (a message
//   to read, a ping to send, a close) the session makes a new stream, open from the start:
//   parking happens only where the old one holds nothing, between messages, with no operation
//   of Beast's in flight.
// Everything of a session runs on the thread of its io_context, one per thread, so there is no
// strand: Beast's rule of one read and one write in flight holds on that thread. The session is
// a template over the byte stream: plain TCP or TLS.
//
// The verbs, by the thread they may be called on:
// - any thread (the room's fan-out, shutdown): deliver() queues a frame, close() queues a close
//   after what is queued, schedule_wake() has wake() run on the session's thread.
// - the session's thread: wake() writes what is queued, and starts the writer coroutine when a
//   write has to wait; begin_close() decides a close (after what is queued, or instead of it);
//   arm_close_deadline() bounds the time from that decision to the end; abort_socket() closes
//   the socket under whatever is pending on it; end() is the session's end, once.
//
// ws_session.cpp holds the connection's life (handshake and join, reads, inbound policy, the
// end); ws_session_writer.cpp holds its writes; ws_session_parking.cpp lets the stream go and
// makes it again; ws_session_token.cpp what its signed token allows and how long.

#include "server/prefetch.hpp"
#include "server/rooms/room.hpp"
#include "server/server_state.hpp"
#include "server/session/inbound_policy.hpp"
#include "server/session/outbound_queue.hpp"
#include "server/session/send_ring.hpp"
#include "server/session/session_params.hpp"
#include "server/session/wake_list.hpp"
#include "server/session/write_batch.hpp"
#include "server/session/write_gate.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace crier {

using plain_stream = boost::beast::tcp_stream;
using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
// After the upgrade a plain connection is the bare socket: Beast's WebSocket stream has its own
// timer, and tcp_stream's (half a kilobyte per connection) would go unused. Its executor is the
// io_context's own (8 bytes, where any_io_executor takes 48, in the socket and in every
// operation pending on it): a session never leaves its thread's io_context.
using plain_ws_stream = boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;
using upgrade_request = boost::beast::http::request<boost::beast::http::empty_body>;

// Creates the session for an accepted upgrade and runs it. The caller has reserved a session slot
// (server_state::try_reserve_session); the session gives it back when it ends.
template <class Stream>
void start_ws_session(Stream&& stream, server_state& state, session_params params, upgrade_request req);
// A plain connection: the socket is re-typed to plain_ws_stream first.
void start_ws_session(boost::asio::ip::tcp::socket&& socket, server_state& state, session_params params,
                      upgrade_request req);

template <class Stream>
class ws_session final : public room_member,
                         public wakeable,
                         public ring_sender,
                         public std::enable_shared_from_this<ws_session<Stream>> {
public:
  ws_session(Stream&& stream, server_state& state, session_params p);
  ~ws_session();
  ws_session(ws_session const&) = delete;
  ws_session& operator=(ws_session const&) = delete;

  void start(upgrade_request req, join_options join);

  // room_member: thread-safe, non-blocking.
  void deliver(frame const& f) override;
  void prefetch_for_delivery() const noexcept override;
  void close(std::uint16_t code, std::string_view reason) override;
  wire_format format() const noexcept override { return format_; }
  member_info const& info() const noexcept override { return identity_; }
  std::size_t queued_bytes() const noexcept override { return queue_.bytes_relaxed(); }
  bool deflates() const noexcept override { return deflate_bits_ != 0; }
  bool follows_deflate_stream() const noexcept override { return deflate_follows_; }
  permissions granted() const noexcept override { return granted_; }

  // wakeable, and every on-thread wake-up (the timer, the handshake's end, a close decided): on
  // the session's thread, writes what is queued; the writer coroutine takes over only what has
  // to wait.
  void wake() override;
  // What the pump reads beyond the session: the frames queued for it, the gate and the socket.
  void prefetch_for_wake() const noexcept override;

  // ring_sender: the batch the pump handed the thread's send ring went out, whole or in part;
  // the writer goes on from there.
  void sent(int result, write_batch& b, std::size_t total) override;
  void prefetch_for_sent() const noexcept override;

private:
  using clock = std::chrono::steady_clock;

  // Reads bypass Beast while idle only on plain TCP: TLS buffers decrypted bytes of its own.
  static constexpr bool idle_reads = write_gate<Stream>::is_plain_tcp;

  // What pump() stopped at.
  enum class step {
    idle,       // the queue is empty: the writer is done for now
    stopped,    // the session is over
    ping,       // a ping is due
    close,      // send the close the queue decided on
    write_rest, // unsent_ holds what the socket did not take at once
    sending,    // the batch is in the thread's send ring, which calls sent() when it is out
  };

  // The connection's life (ws_session.cpp).
  boost::asio::awaitable<void> run(upgrade_request req, join_options join);
  boost::asio::awaitable<void> refuse_join(room_registry::refusal why, upgrade_request const& req);
  // Reads messages until the connection can idle (plain TCP) or ends.
  boost::asio::awaitable<void> read_messages();
  // Waits for the peer's next bytes on the bare socket (a peek); then reads them.
  void wait_readable();
  void on_readable(boost::system::error_code ec, std::size_t n);
  // True when Beast holds no byte the session has not seen as part of a whole message.
  bool can_idle() const;
  // The settings each of this session's streams gets, the first and every one after a park,
  // with Beast's handshake timeout for the handshake it is about to do.
  void configure_stream(std::chrono::steady_clock::duration handshake_timeout);
  // Beast's handshake timeout, which also bounds the closing handshake once the stream is open.
  // Beast's own idle timeout and keep-alive pings stay off: the writer pings and checks idleness.
  void bound_handshake(std::chrono::steady_clock::duration timeout);
  // Parking: true when the stream may go now (the reader waits on the bare socket, the writer
  // is idle, nothing is closing, no permessage-deflate state would be lost); park() lets it go;
  // unpark() makes the new one, open, before Beast has work (a no-op when there is a stream).
  bool can_park() const;
  void park();
  void unpark();
  void handle_message(std::string data);
  void handle_text(std::string text);
  // --rate-limit: true when the message may be published; otherwise applies the action.
  bool admit_by_rate();
  void reply(std::string json);
  // False (after telling a crier.v1 client, or counting it for a raw one) when the member's token
  // does not allow `wanted` here.
  bool permitted(permission wanted, std::string_view what);
  // A crier.v1 {"type":"refresh"}: a new token for the same user moves the expiry.
  void handle_refresh(std::string_view token);
  // Signed tokens: closes the session with 1008 when its token's exp passes (a refresh may have
  // moved it meanwhile). The timer exists only for sessions whose token expires.
  void arm_expiry();
  // Decides a close after what is queued (discard = false) or instead of it; the first decision
  // wins.
  void begin_close(std::uint16_t code, std::string_view reason, bool discard);
  // A close was decided: make sure the session ends within the close timeout even if the peer
  // never reads again.
  void arm_close_deadline();
  // Closes the socket under any pending read, write or wait, which then fail.
  void abort_socket() noexcept;
  // The session's end, once: leave the room, stop the queue, log the close.
  void end(boost::system::error_code ec);
  void log_closed(boost::system::error_code ec);

  // The writes (ws_session_writer.cpp).
  // From any thread: have wake() run on the session's thread, batched with this thread's other
  // wake-ups by its wake list. `may_wait`: for a message the batch window may hold
  // (wake_list::may_wait_for); a close may not wait.
  void schedule_wake(bool may_wait);
  // Writes whatever is queued as long as the socket takes it whole, synchronously, or hands the
  // first batch to the thread's send ring while one collects. `finished`: the payload bytes of a
  // batch written just before (sent()), given back to the queue with the first take.
  step pump(std::size_t finished = 0, bool wrote = false);
  // After pump(): true when the writer is done for now (idle, with its timer armed, or stopped).
  bool writer_ends(step s);
  // After pump(): ends the writer's turn, or leaves it to the send ring, or starts the coroutine.
  void go_on_writing(step s);
  // A batch the socket took `written` bytes of: the rest goes to unsent_ for the coroutine.
  void keep_unsent(write_batch& b, std::size_t written);
  boost::asio::awaitable<void> writer(step first);
  // As the writer goes idle: have wake() run when the next ping or idle check is due.
  void arm_wake_timer();
  // The gate's hook before each asynchronous write. When it is Beast writing a close frame the
  // session did not decide on (Beast failed the connection on a protocol error, or answers the
  // peer's close), what is already queued, such as the echoes of the messages read before the
  // bad frame, goes out ahead of it: the peer gets every message the server took from it.
  void flush_ahead_of_beasts_close();
  // What this session's writes compress, when it negotiated permessage-deflate.
  deflate_policy outbound_deflate();

  // The bounds of the two groups of members below, the fan-out's (with the reference counts
  // make_shared keeps before the object) and the writer's: the one place that names each
  // group's first and last member, for the prefetches and the constructor's check of the gap.
  char const* fanout_lines_begin() const noexcept { return make_shared_counts(this); }
  char const* fanout_lines_end() const noexcept { return reinterpret_cast<char const*>(&deflate_follows_ + 1); }
  char const* writer_lines_begin() const noexcept { return reinterpret_cast<char const*>(&writer_running_); }
  char const* writer_lines_end() const noexcept { return reinterpret_cast<char const*>(&unsent_ + 1); }

  // The members a delivery touches come first, in two groups of cache lines, and every one of
  // them is fetched ahead of use (prefetch_for_delivery, prefetch_for_wake). A room of thousands
  // wakes each member once per broadcast, long after its lines left the cache; a line not asked
  // for ahead is a wait on memory per delivery (docs/performance.md).
  // First what the room's fan-out touches, on whichever thread publishes: the vtable pointers,
  // the queue, the wake list and what the fan-out asks (set once, then only read).
  outbound_queue queue_;
  // This thread's wake list (null only off an io_context): deliveries from a publish are woken
  // together.
  wake_list* const waker_;
  wire_format const format_;
  // permessage-deflate: 0 when not negotiated, else the client's server_max_window_bits (what it
  // inflates with, so what a compressed message may span).
  std::uint8_t deflate_bits_ = 0;
  // The client lets the server keep its context, with a full window: it can follow the room's
  // compression stream. deflate_sync_ is where it is in it (the writer's, on the session's thread).
  bool deflate_follows_ = false;
  // Between the two groups, at least a cache line of members that neither touches per message:
  // the groups never share a line, wherever the allocator put the object. Sharing one, every
  // write of the session's own thread would take the line back from a publisher on another
  // thread (with --threads above 1), and the other way round (the constructor checks the gap).
  std::shared_ptr<room> room_;
  std::string const room_name_;
  std::string const peer_;
  // Then what the session's own thread writes as it wakes and writes.
  bool writer_running_ = false; // a pump or the writer coroutine has the queue
  bool ended_ = false;
  // Beast is closing (it answers the peer's close, failed the connection with a close frame, or
  // sends the writer's): no data frame may follow. Set by the gate's hook, which sees every close
  // frame before it goes out, so the pump asks this flag rather than Beast's state, cache lines
  // away. (A Beast that failed without a close frame ends the session through the reader.)
  bool beast_closing_ = false;
  // The reader waits for readability on the bare socket (wait_readable), not in Beast.
  bool reader_waiting_ = false;
  server_state& state_;
  clock::time_point last_rx_;  // the last time anything arrived from the peer (pongs included)
  clock::time_point next_ping_;
  // When the timer's pending wait expires, or max() when none is pending: an idle writer that
  // wants the same wake-up time again leaves it alone instead of re-arming it.
  clock::time_point timer_at_ = clock::time_point::max();
  // The socket, behind the gate that lets the writer's batches and Beast's own frames take turns
  // on it and follows the frames read. The writer writes to it directly, stream or no stream.
  write_gate<Stream> gate_;
  // Beast frames and reads, through the gate. Empty while the connection is parked.
  std::optional<boost::beast::websocket::stream<write_gate<Stream>&>> ws_;
  deflate_sync deflate_sync_;
  // A batch the socket did not take at once, with its framing, while the writer coroutine sends
  // the rest. Batches that go out at once are framed in per-thread scratch vectors instead, so
  // an idle session keeps no buffers.
  std::unique_ptr<write_batch> unsent_;
  // While the writer is idle, this timer wakes it when the next ping or idle check is due.
  boost::asio::basic_waitable_timer<clock, boost::asio::wait_traits<clock>, typename Stream::executor_type> wake_timer_;
  // What the idle wait peeks at: enough to recognise a pong to an empty ping (6 bytes) and to
  // know there is nothing after it.
  std::array<std::uint8_t, 8> peek_;
  member_info const identity_;
  clock::time_point const opened_;
  token_bucket rate_;    // --rate-limit
  error_window errors_;  // protocol errors
  std::uint16_t sent_close_code_ = 0; // the close code the server decided on, if it did
  bool deadline_armed_ = false;
  std::uint64_t messages_read_ = 0; // whole messages taken from Beast
  bool rate_logged_ = false;
  bool flushed_ahead_of_close_ = false;
  permissions const granted_;
  std::optional<std::int64_t> expires_; // the token's exp, seconds since the Unix epoch
  std::unique_ptr<boost::asio::basic_waitable_timer<std::chrono::system_clock,
                                                    boost::asio::wait_traits<std::chrono::system_clock>,
                                                    typename Stream::executor_type>>
    expiry_timer_;
};

} // namespace crier
