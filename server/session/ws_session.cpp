// ws_session: one connection's life, from the upgrade to the "ws close" line. Its writes are in
// ws_session_writer.cpp.
#include "server/session/ws_session.hpp"

#include "common/deflate_offer.hpp"
#include "common/utf8.hpp"
#include "server/http/responses.hpp"
#include "server/logging.hpp"
#include "server/net.hpp"
#include "server/session/close_classification.hpp"
#include "server/session/exact_allocator.hpp"

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/zlib/error.hpp>

#include <cassert>

namespace crier {
template <class Stream>
void start_ws_session(Stream&& stream, server_state& state, session_params params, upgrade_request req) {
  auto join = std::move(params.join);
  std::make_shared<ws_session<Stream>>(std::move(stream), state, std::move(params))->start(std::move(req), std::move(join));
}

void start_ws_session(asio::ip::tcp::socket&& socket, server_state& state, session_params params, upgrade_request req) {
  boost::system::error_code ec;
  auto const* ex = socket.get_executor().target<asio::io_context::executor_type>();
  auto const protocol = socket.local_endpoint(ec).protocol();
  if (ex != nullptr && !ec) {
    plain_ws_stream ws_socket(*ex);
    auto const fd = socket.release(ec);
    if (!ec) ws_socket.assign(protocol, fd, ec);
    if (!ec) return start_ws_session(std::move(ws_socket), state, std::move(params), std::move(req));
  }
  // Not expected: the socket was not accepted on an io_context, or the peer has already gone.
  log_info("ws upgrade dropped", {{"peer", params.peer}, {"error", ex == nullptr ? "not an io_context" : ec.message()}});
  state.session_ended(); // the slot the upgrade reserved
}

template <class Stream>
ws_session<Stream>::ws_session(Stream&& stream, server_state& state, session_params p)
  : queue_(queue_limits{state.cfg().max_queue_bytes, state.cfg().max_queue_messages, state.cfg().slow_consumer}),
    waker_(wake_list::of(stream.get_executor())),
    format_(p.format),
    room_name_(std::move(p.room)),
    peer_(std::move(p.peer)),
    state_(state),
    last_rx_(clock::now()),
    next_ping_(last_rx_ + state.cfg().ping_interval),
    gate_(std::move(stream)),
    ws_(std::in_place, gate_),
    wake_timer_(gate_.get_executor()),
    identity_(std::move(p.identity)),
    opened_(last_rx_),
    rate_(state.cfg().rate_burst, opened_),
    granted_(p.granted),
    expires_(p.expires) {
  // The fan-out's members and the writer's never share a cache line (ws_session.hpp).
  assert(writer_lines_begin() - fanout_lines_end() >= 64);
}

template <class Stream>
ws_session<Stream>::~ws_session() {
  if (!ws_) state_.metrics().parked(-1);
  state_.session_ended();
}

template <class Stream>
void ws_session<Stream>::start(upgrade_request req, join_options join) {
  asio::co_spawn(
    gate_.get_executor(),
    [self = this->shared_from_this(), r = std::move(req), j = std::move(join)]() mutable {
      return self->run(std::move(r), std::move(j));
    },
    [peer = peer_](std::exception_ptr e) { log_exception("ws session", peer, e); });
}

template <class Stream>
void ws_session<Stream>::deliver(frame const& f) {
  auto const result = queue_.push(f);
  if (result.dropped > 0) state_.metrics().slow_consumer_drops(result.dropped);
  if (result.overflowed) {
    state_.metrics().slow_consumer_close();
    log_warn("ws slow consumer: outbound queue over its bound, closing with 1008",
             {{"peer", peer_}, {"room", room_name_}, {"id", identity_.id}});
    // Arm the close deadline on our thread; the writer may be stuck on a peer that never reads.
    if (auto self = this->weak_from_this().lock())
      asio::post(gate_.get_executor(), [self = std::move(self)] { self->arm_close_deadline(); });
  }
  // A queue past half its bound may not wait for the thread's batch window, with a burst behind
  // it: its wake-up, asked for now or already on its way, is hurried.
  if (result.wake) schedule_wake(!result.filling && wake_list::may_wait_for(f.size()));
  else if (result.filling && waker_ != nullptr) waker_->hurry();
}

template <class Stream>
void ws_session<Stream>::close(std::uint16_t code, std::string_view reason) {
  // Shutdown: what is already queued still goes out, then the close frame.
  auto const r = queue_.request_close(close_request{code, std::string(reason)}, false);
  if (!r.decided) return;
  if (auto self = this->weak_from_this().lock())
    asio::post(gate_.get_executor(), [self = std::move(self)] { self->arm_close_deadline(); });
  if (r.wake) schedule_wake(false);
}

template <class Stream>
void ws_session<Stream>::begin_close(std::uint16_t code, std::string_view reason, bool discard) {
  // On the session's thread.
  auto const r = queue_.request_close(close_request{code, std::string(reason)}, discard);
  if (!r.decided) return;
  arm_close_deadline();
  if (r.wake) wake();
}

template <class Stream>
void ws_session<Stream>::arm_close_deadline() {
  if (deadline_armed_) return;
  deadline_armed_ = true;
  // Beast bounds the closing handshake once the close frame is out, but a writer blocked on a
  // peer that stopped reading never gets it out. This timer ends the session regardless, and is
  // only allocated for sessions that are closing.
  asio::co_spawn(
    gate_.get_executor(),
    [weak = this->weak_from_this(), timeout = state_.cfg().close_timeout]() -> asio::awaitable<void> {
      asio::steady_timer timer(co_await asio::this_coro::executor, timeout + std::chrono::milliseconds(100));
      co_await timer.async_wait(nothrow);
      if (auto self = weak.lock()) self->abort_socket();
    },
    asio::detached);
}

template <class Stream>
void ws_session<Stream>::abort_socket() noexcept {
  boost::system::error_code ignored;
  auto& lowest = beast::get_lowest_layer(gate_);
  if constexpr (requires { lowest.close(ignored); }) lowest.close(ignored);
  else lowest.close();
}

template <class Stream>
asio::awaitable<void> ws_session<Stream>::refuse_join(room_registry::refusal why, upgrade_request const& req) {
  if (why == room_registry::refusal::too_many_rooms) {
    // Answer the upgrade with a plain HTTP 503 instead of accepting it.
    state_.metrics().connection(conn_outcome::rejected_limit);
    log_info("ws upgrade refused: too many rooms", {{"peer", peer_}, {"room", room_name_}});
    auto res = text_response(http::status::service_unavailable, "too many rooms: try an existing room", req.version(),
                             false);
    // Bounded like the handshake: a client that does not read its answer is cut off.
    wake_timer_.expires_after(state_.cfg().handshake_timeout);
    wake_timer_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->abort_socket();
    });
    co_await http::async_write(gate_.next_layer(), res, nothrow);
    wake_timer_.cancel();
    co_return;
  }
  // Draining began between the upgrade request and now: accept, then say goodbye properly.
  auto [ec] = co_await ws_->async_accept(req, nothrow);
  if (ec) co_return;
  sent_close_code_ = websocket::close_code::going_away;
  co_await ws_->async_close(websocket::close_reason(websocket::close_code::going_away, "going away"), nothrow);
}

template <class Stream>
asio::awaitable<void> ws_session<Stream>::run(upgrade_request req, join_options join) {
  auto const& cfg = state_.cfg();
  configure_stream(cfg.handshake_timeout);
  // permessage-deflate is negotiated here rather than by Beast: Beast answers an offer of an
  // 8-bit server window with 9 bits (which the client must refuse) and looks at the first offer
  // only. Beast takes its own settings from the answer, so it inflates what the client sends
  // with the window agreed; it writes nothing but control frames, which are never compressed,
  // and the writer compresses the rest.
  deflate_agreement deflate;
  if (cfg.compression) {
    std::string offers;
    auto const [first, last] = req.equal_range(http::field::sec_websocket_extensions);
    for (auto it = first; it != last; ++it) {
      if (!offers.empty()) offers += ',';
      offers.append(it->value().data(), it->value().size());
    }
    if (!offers.empty()) deflate = negotiate_deflate(offers, cfg.compression_context_members > 0);
  }
  if (deflate.accepted) {
    websocket::permessage_deflate pmd;
    pmd.server_enable = true;
    pmd.msg_size_threshold = SIZE_MAX;
    ws_->set_option(pmd);
    deflate_bits_ = static_cast<std::uint8_t>(deflate.server_max_window_bits);
    deflate_follows_ =
      deflate.server_context_takeover && deflate.server_max_window_bits >= deflate_context::window_bits;
  }
  ws_->set_option(websocket::stream_base::decorator(
    [json = format_ == wire_format::json, extensions = std::move(deflate.response)](websocket::response_type& res) {
      res.set(http::field::server, server_header);
      if (json) res.set(http::field::sec_websocket_protocol, json_subprotocol);
      if (!extensions.empty()) res.set(http::field::sec_websocket_extensions, extensions);
    }));

  // Join before the handshake completes: once a client has its 101 response it is a member, and
  // whatever the room publishes from then on waits in the queue until the writer starts.
  // Cluster mode: the first member on this node waits (bounded) for the room's history and
  // members from Redis, so that its welcome is the cluster's; without Redis it joins locally.
  co_await state_.rooms().prepare(room_name_,
                                  std::min<std::chrono::milliseconds>(cfg.handshake_timeout, std::chrono::seconds(2)));
  // Half the queue: the other half is for the live traffic that arrives while it is written.
  join.replay_bytes = cfg.max_queue_bytes / 2;
  join.replay_messages = std::max<std::size_t>(cfg.max_queue_messages / 2, 1);
  auto joined = state_.rooms().join(room_name_, this, join);
  if (!joined.joined) {
    co_await refuse_join(joined.why, req);
    co_return;
  }
  room_ = std::move(joined.joined);
  auto [accept_ec] = co_await ws_->async_accept(req, nothrow);
  if (accept_ec) {
    if (accept_ec == beast::error::timeout) state_.metrics().handshake_timeout();
    state_.metrics().connection(conn_outcome::handshake_failed);
    log_info("ws handshake failed", {{"peer", peer_}, {"room", room_name_}, {"error", accept_ec.message()}});
    state_.rooms().leave(room_, this);
    co_return;
  }
  state_.metrics().connection(conn_outcome::accepted);
  req = {}; // the upgrade request's headers would otherwise live as long as the session
  ws_->set_option(websocket::stream_base::decorator([](websocket::response_type&) {})); // and the answer's
  // Only from here on: the handshake's own response goes through the gate too, ahead of any frame.
  gate_.before_each_write([](void* self) { static_cast<ws_session*>(self)->flush_ahead_of_beasts_close(); },
                                     this);
  // From here on Beast's handshake timeout bounds the closing handshake.
  bound_handshake(cfg.close_timeout);
  log_info("ws open", {{"peer", peer_},
                       {"room", room_name_},
                       {"id", identity_.id},
                       {"mode", format_ == wire_format::json ? "json" : "raw"}});

  wake(); // a JSON member's welcome is already queued
  arm_expiry();

  // The reader, in this same coroutine as long as it has something to read.
  if (idle_reads && can_idle()) {
    wait_readable();
    // A new member has nothing for Beast yet, and most stay quiet for a while: it parks now,
    // rather than --park-after from now. Connections that come in a burst then each give their
    // stream back before the next ones are made, and the next ones are made in the memory
    // those gave back: a burst of thousands costs what they keep, not a stream each on top.
    if (can_park()) park();
  } else {
    co_await read_messages();
  }
}

template <class Stream>
bool ws_session<Stream>::can_idle() const {
  // Every byte Beast was given belongs to messages the reader has taken whole, and nothing came
  // after the last of them: Beast's read buffer is empty and no frame is half parsed.
  auto const& t = gate_.tracker();
  return idle_reads && t.at_message_end() && t.messages() == messages_read_ && (!ws_ || ws_->is_open());
}

template <class Stream>
void ws_session<Stream>::wait_readable() {
  // A connection between messages keeps this small operation instead of a pending Beast read
  // and the coroutine around it. It peeks: the bytes stay in the socket for Beast (or for
  // Beast's closing handshake, which may read at the same time), and unlike async_wait it
  // needs no epoll_ctl when the connection is busy, so going idle between two messages costs
  // what a pending read would.
  if constexpr (idle_reads) {
    reader_waiting_ = true;
    gate_.plain_socket().async_receive(
      asio::buffer(peek_), asio::socket_base::message_peek,
      asio::bind_allocator(exact_allocator<void>(), [self = this->shared_from_this()](boost::system::error_code ec,
                                                                                     std::size_t n) {
        self->on_readable(ec, n);
      }));
    // A writer already idle set its timer without knowing the reader would wait too: the
    // connection may now park when it has been quiet long enough.
    if (!writer_running_) arm_wake_timer();
  }
}

template <class Stream>
void ws_session<Stream>::on_readable(boost::system::error_code ec, std::size_t n) {
  if constexpr (idle_reads) {
    reader_waiting_ = false;
    // The socket was closed under the wait (by the close deadline, by a failed write, or by
    // Beast at the end of a closing handshake the writer started), or the peer went away.
    if (ec) return end(ec);
    // The answer to the writer's ping is the usual reason an idle connection becomes readable.
    // Nothing needs to happen for it but noting that the peer is alive, so it is consumed
    // here and the connection goes back to waiting, rather than starting a Beast read that
    // would then stay pending until the next message. Fewer bytes than asked for means these
    // are all there is.
    if (n < peek_.size() && whole_pongs(peek_.data(), n) == n && !queue_.closing()) {
      auto& socket = gate_.plain_socket();
      boost::system::error_code rec;
      if (socket.receive(asio::buffer(peek_.data(), n), 0, rec) == n && !rec) {
        last_rx_ = clock::now();
        return wait_readable();
      }
    }
    unpark(); // Beast reads the rest
    asio::co_spawn(
      gate_.get_executor(), [self = this->shared_from_this()] { return self->read_messages(); },
      [peer = peer_](std::exception_ptr e) { log_exception("ws session", peer, e); });
  }
}

template <class Stream>
asio::awaitable<void> ws_session<Stream>::read_messages() {
  boost::system::error_code ec;
  // Where each message's first bytes land: most chat messages fit whole. It lives in this
  // coroutine's frame, which exists only while the connection has something to read.
  std::array<char, 128> first_bytes;
  for (;;) {
    std::size_t n = 0;
    std::tie(ec, n) = co_await ws_->async_read_some(asio::buffer(first_bytes), nothrow);
    if (ec) break;
    // The message becomes the immutable payload every member shares: one copy of the first bytes,
    // and the rest read straight into it, sized by what Beast knows of the frame (the rest of it,
    // for a final frame). Beast has already refused a frame that would exceed
    // --max-message-size, so the sizes here are bounded by it.
    std::string data(first_bytes.data(), n);
    while (!ws_->is_message_done()) {
      auto const have = data.size();
      auto const want = std::min<std::size_t>(ws_->read_size_hint(4096), std::size_t{1} << 20);
      data.resize(have + want);
      std::tie(ec, n) = co_await ws_->async_read_some(asio::buffer(data.data() + have, want), nothrow);
      data.resize(have + n);
      if (ec) break;
    }
    if (ec) break;
    ++messages_read_;
    handle_message(std::move(data));
    if (can_idle()) co_return wait_readable();
  }
  if (ec.category() == beast::zlib::make_error_code(beast::zlib::error::general).category()) {
    // Compressed data that does not inflate. Beast stops reading without a close frame; RFC 7692
    // section 8 says to fail the connection, and the client is told why with 1007 (the payload
    // is not what its frame header says), through the gate like any frame of the writer's.
    log_info("ws compressed message does not inflate, closing with 1007",
             {{"peer", peer_}, {"room", room_name_}, {"error", ec.message()}});
    sent_close_code_ = websocket::close_code::bad_payload;
    static constexpr std::array<std::uint8_t, 4 + 23> close_frame{
      0x88, 25, 0x03, 0xEF, 'i', 'n', 'v', 'a', 'l', 'i', 'd', ' ', 'c', 'o', 'm', 'p', 'r', 'e', 's', 's', 'e', 'd', ' ', 'd', 'a', 't', 'a'};
    co_await gate_.async_write_some(asio::buffer(close_frame), nothrow);
  }
  end(ec);
}

template <class Stream>
void ws_session<Stream>::handle_message(std::string data) {
  auto const n = data.size();
  wake_list::note_publish();
  last_rx_ = clock::now();
  state_.metrics().message_in(n);
  // Once a close is decided nothing more is acted on; and over the rate, nothing is published.
  if (queue_.closing()) return;
  if (ws_->got_text() && !ends_in_complete_utf8(data)) {
    // Beast checks UTF-8 as frames arrive, but it skips the end-of-message check when the last
    // fragment is empty, so "\xce" followed by an empty final continuation reaches us as a
    // complete text message. Everything before the end was checked, so only the last
    // sequence needs looking at. RFC 6455 section 8.1 says to fail the connection with 1007; the
    // writer sends the close, and reading goes on until the peer answers or the close times out.
    log_info("ws text message is not UTF-8, closing with 1007", {{"peer", peer_}, {"room", room_name_}});
    begin_close(websocket::close_code::bad_payload, "invalid UTF-8", true);
  } else if (!admit_by_rate()) {
    // dropped or closing, as --rate-limit-action says
  } else if (format_ == wire_format::json && ws_->got_text()) {
    handle_text(std::move(data)); // the request decides which permission it needs
  } else if (!permitted(permission::publish, "publish")) {
    // told, or counted
  } else if (!ws_->got_text()) {
    room_->publish_binary(std::make_shared<std::string const>(std::move(data)));
  } else {
    room_->publish_text(identity_, std::make_shared<std::string const>(std::move(data)));
  }
}

template <class Stream>
void ws_session<Stream>::end(boost::system::error_code ec) {
  if (std::exchange(ended_, true)) return;
  state_.rooms().leave(room_, this);
  queue_.stop();
  wake_timer_.cancel(); // the idle writer's timer holds the session: let it go
  if (expiry_timer_) expiry_timer_->cancel(); // and so does the expiry's
  log_closed(ec);
}

template <class Stream>
bool ws_session<Stream>::admit_by_rate() {
  auto const& cfg = state_.cfg();
  if (cfg.rate_limit <= 0) return true;
  if (rate_.take(cfg.rate_limit, cfg.rate_burst, clock::now())) return true;
  state_.metrics().rate_limited();
  if (!rate_logged_) {
    rate_logged_ = true;
    log_info("ws rate limit exceeded", {{"peer", peer_}, {"room", room_name_}, {"id", identity_.id},
                                        {"action", to_string(cfg.rate_limit_action)}});
  }
  if (cfg.rate_limit_action == rate_policy::close) {
    begin_close(websocket::close_code::policy_error, "rate limit exceeded", false);
  } else if (format_ == wire_format::json) {
    reply(render_error("rate_limited", "message dropped: over the rate limit"));
  }
  return false;
}

template <class Stream>
void ws_session<Stream>::handle_text(std::string text) {
  auto message = decode_client_message(text);
  if (auto* send = std::get_if<send_text_request>(&message)) {
    if (permitted(permission::publish, "publish"))
      room_->publish_text(identity_, std::make_shared<std::string const>(std::move(send->text)));
  } else if (auto* history = std::get_if<history_request>(&message)) {
    if (permitted(permission::history, "history")) deliver(room_->history_page(*history, state_.cfg().max_queue_bytes / 2));
  } else if (auto* page = std::get_if<members_request>(&message)) {
    if (permitted(permission::presence, "presence")) deliver(room_->members_page(*page));
  } else if (auto* refresh = std::get_if<refresh_request>(&message)) {
    handle_refresh(refresh->token);
  } else {
    auto const& error = std::get<protocol_error>(message);
    state_.metrics().protocol_error();
    if (!errors_.note(clock::now())) {
      log_info("ws too many protocol errors, closing with 1008",
               {{"peer", peer_}, {"room", room_name_}, {"id", identity_.id}});
      begin_close(websocket::close_code::policy_error, "too many protocol errors", false);
      return;
    }
    log_debug("ws protocol error", {{"peer", peer_}, {"id", identity_.id}, {"code", error.code}, {"reason", error.reason}});
    reply(render_error(error.code, error.reason));
  }
}

template <class Stream>
void ws_session<Stream>::reply(std::string json) {
  deliver(frame{std::make_shared<std::string const>(std::move(json)), false});
}

template <class Stream>
void ws_session<Stream>::log_closed(boost::system::error_code ec) {
  auto const duration_ms =
    std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - opened_).count();
  // The close the server decided on, even if the deadline cut the connection before it went out.
  auto const decided = queue_.decided_close();
  auto const sent = sent_close_code_ != 0 ? sent_close_code_ : decided.code;
  // A close the queue did not decide is refuse_join's "going away" to a join during the drain.
  std::string_view const reason = decided.code != 0 ? std::string_view(decided.reason) : "going away";
  auto const c = classify_close(sent, ec, ws_ ? ws_->reason() : websocket::close_reason{}, sent != 0 ? reason : std::string_view{});
  state_.metrics().closed(c.code);
  log_info("ws close", {{"peer", peer_},
                        {"room", room_name_},
                        {"id", identity_.id},
                        {"code", c.code == 0 ? 1006 : c.code},
                        {"reason", c.detail},
                        {"by", to_string(c.by)},
                        {"duration_ms", duration_ms}});
}

template class ws_session<plain_ws_stream>;
template class ws_session<tls_stream>;
template void start_ws_session<plain_ws_stream>(plain_ws_stream&&, server_state&, session_params, upgrade_request);
template void start_ws_session<tls_stream>(tls_stream&&, server_state&, session_params, upgrade_request);

} // namespace crier
