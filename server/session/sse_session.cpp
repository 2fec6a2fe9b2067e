#include "server/session/sse_session.hpp"

#include "common/sse.hpp"
#include "server/http/responses.hpp"
#include "server/logging.hpp"
#include "server/net.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/json/parse.hpp>

#include <array>
#include <charconv>

namespace crier {

namespace {

// What a client's EventSource waits before reconnecting when the stream ends.
constexpr std::uint64_t retry_ms = 1000;
// The most a stream keeps, between batches, of the buffer its own renderings go into. Those are
// the events meant for it alone (its welcome, which lists up to --presence-threshold members, and
// replays): everything the room broadcasts is rendered once and shared (sse_cache), so an idle
// stream keeps next to nothing.
constexpr std::size_t max_kept_buffer = 512;
// Likewise for the list of pieces a batch is written from.
constexpr std::size_t max_kept_pieces = 16;

// The room's epoch, from the welcome that starts every stream.
std::string welcome_epoch(std::string_view welcome) {
  boost::system::error_code ec;
  auto const v = boost::json::parse(welcome, ec);
  if (ec || !v.is_object()) return {};
  auto const* epoch = v.as_object().if_contains("epoch");
  return epoch && epoch->is_string() ? std::string(epoch->as_string()) : std::string{};
}

// A token's exp (seconds since the Unix epoch, plus the leeway) on the steady clock.
std::chrono::steady_clock::time_point steady_deadline(std::int64_t exp, std::chrono::seconds leeway) {
  auto const at = std::chrono::system_clock::time_point(std::chrono::seconds(exp)) + leeway;
  return std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(at - std::chrono::system_clock::now());
}

} // namespace

template <class Stream>
void start_sse_session(Stream&& stream, server_state& state, session_params params, sse_request req) {
  std::make_shared<sse_session<Stream>>(std::move(stream), state, std::move(params), std::move(req))->start();
}

template <class Stream>
sse_session<Stream>::sse_session(Stream&& stream, server_state& state, session_params p, sse_request req)
  : stream_(std::move(stream)),
    wake_timer_(stream_.get_executor()),
    queue_(queue_limits{state.cfg().max_queue_bytes, state.cfg().max_queue_messages, state.cfg().slow_consumer}),
    waker_(wake_list::of(stream_.get_executor())),
    state_(state),
    room_name_(std::move(p.room)),
    identity_(std::move(p.identity)),
    peer_(std::move(p.peer)),
    granted_(p.granted),
    join_(std::move(p.join)),
    request_(std::move(req)),
    opened_(clock::now()) {
  if (p.expires) expires_at_ = steady_deadline(*p.expires, state.cfg().token_leeway);
  state_.event_stream_opened();
}

template <class Stream>
sse_session<Stream>::~sse_session() {
  state_.event_stream_closed();
  state_.session_ended();
}

template <class Stream>
void sse_session<Stream>::start() {
  asio::co_spawn(stream_.get_executor(), [self = this->shared_from_this()] { return self->run(); },
                 [peer = peer_](std::exception_ptr e) { log_exception("sse session", peer, e); });
}

template <class Stream>
void sse_session<Stream>::deliver(frame const& f) {
  auto const result = queue_.push(f);
  if (result.dropped > 0) state_.metrics().slow_consumer_drops(result.dropped);
  if (result.overflowed) {
    state_.metrics().slow_consumer_close();
    log_warn("sse slow consumer: outbound queue over its bound, closing",
             {{"peer", peer_}, {"room", room_name_}, {"id", identity_.id}});
    if (auto self = this->weak_from_this().lock())
      asio::post(stream_.get_executor(), [self = std::move(self)] { self->arm_close_deadline(); });
  }
  // A queue past half its bound may not wait for the thread's batch window, with a burst behind
  // it: its wake-up, asked for now or already on its way, is hurried.
  if (result.wake) schedule_wake(!result.filling && wake_list::may_wait_for(f.size()));
  else if (result.filling && waker_ != nullptr) waker_->hurry();
}

template <class Stream>
void sse_session<Stream>::close(std::uint16_t code, std::string_view reason) {
  // What is already queued still goes out, then the close event.
  auto const r = queue_.request_close(close_request{code, std::string(reason)}, false);
  if (!r.decided) return;
  if (auto self = this->weak_from_this().lock())
    asio::post(stream_.get_executor(), [self = std::move(self)] { self->arm_close_deadline(); });
  if (r.wake) schedule_wake(false);
}

template <class Stream>
void sse_session<Stream>::schedule_wake(bool may_wait) {
  // From any thread; the session is alive here because it is still a room member.
  auto self = this->weak_from_this().lock();
  if (!self) return;
  if (waker_ != nullptr) waker_->add(std::move(self), may_wait);
  else asio::post(stream_.get_executor(), [self = std::move(self)] { self->wake(); });
}

template <class Stream>
void sse_session<Stream>::wake() {
  // The writer waits on this timer while the queue is empty: a timer used as a condition variable.
  wake_timer_.cancel();
}

template <class Stream>
void sse_session<Stream>::arm_close_deadline() {
  if (std::exchange(deadline_armed_, true)) return;
  asio::co_spawn(
    stream_.get_executor(),
    [weak = this->weak_from_this(), timeout = state_.cfg().close_timeout]() -> asio::awaitable<void> {
      asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
      co_await timer.async_wait(nothrow);
      if (auto self = weak.lock()) self->abort_socket();
    },
    asio::detached);
}

template <class Stream>
void sse_session<Stream>::abort_socket() noexcept {
  beast::get_lowest_layer(stream_).close();
}

template <class Stream>
asio::awaitable<bool> sse_session<Stream>::send(std::string const& body) {
  // Between batches pieces_ is empty: the stream's own lines go out as a batch of one.
  pieces_.assign(1, asio::buffer(body));
  bool const ok = co_await send_pieces();
  pieces_.clear();
  co_return ok;
}

template <class Stream>
asio::awaitable<bool> sse_session<Stream>::send_pieces() {
  // HTTP/1.1's chunk framing around the pieces, in place (Beast's chunk_body would copy the list).
  std::array<char, 20> head{};
  if (request_.version >= 11) {
    std::size_t size = 0;
    for (auto const& p : pieces_) size += p.size();
    auto const r = std::to_chars(head.data(), head.data() + head.size() - 2, size, 16);
    auto* end = r.ptr;
    *end++ = '\r';
    *end++ = '\n';
    pieces_.insert(pieces_.begin(), asio::const_buffer(head.data(), static_cast<std::size_t>(end - head.data())));
    pieces_.emplace_back("\r\n", 2);
  }
  auto [ec, n] = co_await asio::async_write(stream_, pieces_, nothrow);
  co_return !ec;
}

template <class Stream>
std::size_t sse_session<Stream>::render(std::vector<frame> const& batch) {
  body_.clear();
  pieces_.clear();
  // Where each event is: a shared rendering, or a span of body_ (whose data may move while it
  // grows, so its spans become buffers only once it is complete).
  struct span {
    char const* shared;
    std::size_t offset, size;
  };
  boost::container::small_vector<span, 8> spans; // most batches are a few events: no allocation
  std::size_t skipped = 0, bytes = 0;
  for (auto const& f : batch) {
    if (!f.payload) continue;
    std::string_view const json = *f.payload;
    // Binary has no place in a text stream; it is counted, not silently lost.
    if (f.binary || json.empty()) {
      ++skipped;
      continue;
    }
    if (epoch_.empty() && json.starts_with(R"({"type":"welcome")")) epoch_ = welcome_epoch(json);
    if (f.sse) {
      if (auto const shared = f.sse->get(*f.payload, epoch_); !shared.empty()) {
        spans.push_back({shared.data(), 0, shared.size()});
        bytes += shared.size();
        continue;
      }
    }
    auto const before = body_.size();
    if (!append_sse_event(body_, json, epoch_)) {
      ++skipped;
      continue;
    }
    spans.push_back({nullptr, before, body_.size() - before});
    bytes += body_.size() - before;
  }
  for (auto const& s : spans)
    pieces_.emplace_back(s.shared != nullptr ? s.shared : body_.data() + s.offset, s.size);
  if (skipped > 0) state_.metrics().sse_skipped(skipped);
  return bytes;
}

template <class Stream>
asio::awaitable<bool> sse_session<Stream>::open() {
  // In a coroutine of its own, so that the response and its serializer are gone once sent: the
  // stream's own coroutine lives as long as the stream.
  auto const& cfg = state_.cfg();
  auto& lowest = beast::get_lowest_layer(stream_);
  http::response<http::empty_body> res{http::status::ok, request_.version};
  res.set(http::field::server, server_header);
  res.set(http::field::content_type, sse_content_type);
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Accel-Buffering", "no"); // nginx would otherwise hold events back in its buffer
  if (!request_.allow_origin.empty()) {
    res.set(http::field::access_control_allow_origin, request_.allow_origin);
    res.set(http::field::vary, "Origin");
  }
  if (request_.version >= 11) res.chunked(true);
  else res.keep_alive(false);
  http::response_serializer<http::empty_body> head(res);
  lowest.expires_after(cfg.handshake_timeout);
  auto [ec, n] = co_await http::async_write_header(stream_, head, nothrow);
  lowest.expires_never(); // from here the queue's bounds and the close deadline bound the stream
  co_return !ec && co_await send(sse_retry(retry_ms));
}

template <class Stream>
asio::awaitable<void> sse_session<Stream>::run() {
  auto const& cfg = state_.cfg();
  auto& lowest = beast::get_lowest_layer(stream_);
  // As a WebSocket session does: the first subscriber on this node waits (bounded) for the
  // cluster's view of the room, and a replay takes at most half the queue.
  co_await state_.rooms().prepare(room_name_,
                                  std::min<std::chrono::milliseconds>(cfg.handshake_timeout, std::chrono::seconds(2)));
  join_.replay_bytes = cfg.max_queue_bytes / 2;
  join_.replay_messages = std::max<std::size_t>(cfg.max_queue_messages / 2, 1);
  join_.history_as_events = true;
  auto joined = state_.rooms().join(room_name_, this, join_);
  if (!joined.joined) {
    bool const draining = joined.why == room_registry::refusal::draining;
    state_.metrics().connection(conn_outcome::rejected_limit);
    log_info(draining ? "sse refused: shutting down" : "sse refused: too many rooms",
             {{"peer", peer_}, {"room", room_name_}});
    auto res = text_response(http::status::service_unavailable,
                             draining ? "shutting down: try again later" : "too many rooms: try an existing room",
                             request_.version, false);
    lowest.expires_after(cfg.handshake_timeout);
    co_await http::async_write(stream_, res, nothrow);
    ended_ = true;
    co_return;
  }
  room_ = std::move(joined.joined);

  if (!co_await open()) {
    state_.metrics().connection(conn_outcome::handshake_failed);
    end("client", 0, "the response could not be written");
    co_return;
  }
  state_.metrics().connection(conn_outcome::accepted);
  log_info("sse open", {{"peer", peer_}, {"room", room_name_}, {"id", identity_.id}});
  asio::co_spawn(stream_.get_executor(), [self = this->shared_from_this()] { return self->watch(); }, asio::detached);

  // The writer: what is queued, the keep-alive comments, the token's expiry, and the end.
  auto next_ping = cfg.ping_interval.count() > 0 ? clock::now() + cfg.ping_interval : clock::time_point::max();
  std::vector<frame> batch;
  close_request why;
  bool ok = true;
  while (ok) {
    auto const taken = queue_.take(batch, why);
    if (taken == outbound_queue::take_result::batch) {
      std::size_t bytes = 0;
      for (auto const& f : batch) bytes += f.size();
      auto const rendered = render(batch);
      if (rendered > 0) ok = co_await send_pieces();
      queue_.written(bytes);
      state_.metrics().written(batch.size(), rendered);
      batch.clear();
      pieces_.clear();
      // A burst's buffer is not kept by a stream that goes quiet after it.
      if (body_.capacity() > max_kept_buffer) body_ = {};
      if (batch.capacity() > max_kept_pieces) batch = {};
      if (pieces_.capacity() > max_kept_pieces) pieces_ = {};
      continue;
    }
    if (taken == outbound_queue::take_result::close) {
      co_await finish(why);
      co_return;
    }
    if (taken == outbound_queue::take_result::stop) co_return;
    // Idle: until the next push wakes us, or the next keep-alive or expiry is due.
    wake_timer_.expires_at(std::min(next_ping, expires_at_));
    co_await wake_timer_.async_wait(nothrow);
    auto const now = clock::now();
    if (now >= expires_at_ && !queue_.closing()) {
      arm_close_deadline();
      queue_.request_close(close_request{1008, "token expired"}, false);
    } else if (now >= next_ping) {
      ok = co_await send(std::string(sse_keep_alive));
      next_ping = now + cfg.ping_interval;
    }
  }
  end("client", 0, "the client stopped taking the stream");
}

template <class Stream>
asio::awaitable<void> sse_session<Stream>::finish(close_request const& why) {
  arm_close_deadline();
  bool ok = co_await send(sse_close_event(why.code, why.reason));
  if (ok && request_.version >= 11) {
    auto [ec, n] = co_await asio::async_write(stream_, http::make_chunk_last(), nothrow);
    ok = !ec;
  }
  end("server", why.code, why.reason);
  // With the last chunk the client knows the response is whole, and closes: watch() sees it go.
  // An HTTP/1.0 response ends only with the connection; so does one the client stopped reading.
  if (!ok || request_.version < 11) abort_socket();
  else if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    boost::system::error_code ignored;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  }
}

template <class Stream>
asio::awaitable<void> sse_session<Stream>::watch() {
  // A client has nothing to say on an event stream: what it sends anyway is read and dropped,
  // and the read ends when it goes away (or when the socket is closed under it).
  std::array<char, 256> sink;
  for (;;) {
    auto [ec, n] = co_await stream_.async_read_some(asio::buffer(sink), nothrow);
    if (ec) break;
  }
  end("client", 0, "the client closed the stream");
  abort_socket();
}

template <class Stream>
void sse_session<Stream>::end(std::string_view by, std::uint16_t code, std::string_view reason) {
  if (std::exchange(ended_, true)) return;
  // A close the server decided (a slow consumer, the drain) is the reason, even when the
  // connection went before its close event did: the deadline cut it, or the client left.
  auto const decided = queue_.decided_close();
  if (decided.code != 0) {
    by = "server";
    code = decided.code;
    reason = decided.reason;
  }
  if (room_) state_.rooms().leave(room_, this);
  queue_.stop();
  wake_timer_.cancel();
  state_.metrics().closed(code);
  auto const duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - opened_).count();
  log_info("sse close", {{"peer", peer_},
                         {"room", room_name_},
                         {"id", identity_.id},
                         {"code", code == 0 ? 1006 : code},
                         {"reason", reason},
                         {"by", by},
                         {"duration_ms", duration_ms}});
}

using sse_plain_stream = beast::tcp_stream;
using sse_tls_stream = beast::ssl_stream<beast::tcp_stream>;
template class sse_session<sse_plain_stream>;
template class sse_session<sse_tls_stream>;
template void start_sse_session<sse_plain_stream>(sse_plain_stream&&, server_state&, session_params, sse_request);
template void start_sse_session<sse_tls_stream>(sse_tls_stream&&, server_state&, session_params, sse_request);

} // namespace crier
