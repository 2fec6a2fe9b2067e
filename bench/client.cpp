// A load client's life (connect, handshake, send within its window, read and check, close) and
// the worker's check of every delivery. One file so the hot path between them inlines.

#include "bench/client.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <fmt/format.h>

namespace crier::bench {
namespace {

using namespace std::chrono_literals;

std::uint64_t now_ns() noexcept {
  return static_cast<std::uint64_t>(
    std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch()).count());
}

} // namespace

client::client(worker& w, shared_setup const& s, asio::io_context& ioc, std::uint32_t id)
  : w_(w)
  , s_(s)
  , id_(id)
  , room_(s.room_of(id))
  , ws_(ioc)
  , kind_(id < s.opt.senders || s.opt.receivers == "ws" ? receiver_kind::raw
          : s.opt.receivers == "json"                   ? receiver_kind::json
                                                        : receiver_kind::sse)
  , sends_(id < s.opt.senders || s.opt.touch) {
  tracks_.resize(s.tracks_in_room(room_));
  if (kind_ == receiver_kind::sse) sse_ = std::make_unique<event_stream>();
  if (sends_) {
    if (s.chat)
      out_.reserve(chat_corpus::max_size); // written whole for every message (kick)
    else
      out_ = make_payload(s.opt.size); // only the header changes from one to the next
  }
}

void client::fail(std::string const& what, boost::system::error_code ec) {
  open_ = false;
  if (!failed_) {
    failed_ = true;
    w_.note_error(fmt::format("client {}: {}: {}", id_, what, ec.message()));
  }
}

void client::connect() {
  connect_started_ = now_ns();
  ws_.next_layer().async_connect(s_.endpoints[id_ % s_.endpoints.size()], [this](boost::system::error_code ec) { on_connect(ec); });
}

void client::on_connect(boost::system::error_code ec) {
  if (ec) {
    fail("connect", ec);
    w_.failed_.add(1);
    w_.connect_next();
    return;
  }
  boost::system::error_code ignored;
  ws_.next_layer().set_option(tcp::no_delay(true), ignored);
  if (sse_) {
    sse_request();
    return;
  }
  ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
  ws_.auto_fragment(false);
  ws_.secure_prng(false); // masks need not be unpredictable on loopback; this is cheaper
  ws_.binary(s_.opt.binary);
  // A big room's welcome (all members, on a server that does not cap it) can be large.
  ws_.read_message_max(s_.opt.presence || kind_ == receiver_kind::json
                         ? 64u << 20
                         : std::max<std::size_t>(s_.opt.size * 2, 64 * 1024));
  if (sends_) ws_.write_buffer_bytes(std::clamp<std::size_t>(s_.opt.size + 16, 4096, 1 << 20));
  if (s_.opt.deflate) {
    // Beast's defaults otherwise: it offers both window sizes at 15 bits and compresses every
    // message it sends (compLevel 8), as browsers compress what they send. The server decides
    // what comes back compressed.
    websocket::permessage_deflate pmd;
    pmd.client_enable = true;
    ws_.set_option(pmd);
    response_ = std::make_unique<websocket::response_type>();
  }
  auto const subprotocol = kind_ == receiver_kind::json ? std::string("crier.v1") : s_.opt.subprotocol;
  if (!subprotocol.empty()) {
    ws_.set_option(websocket::stream_base::decorator([p = subprotocol](websocket::request_type& req) {
      req.set(beast::http::field::sec_websocket_protocol, p);
    }));
  }
  auto const& host = s_.host_headers[id_ % s_.host_headers.size()];
  auto on_done = [this](boost::system::error_code e) { on_handshake(e); };
  if (response_)
    ws_.async_handshake(*response_, host, s_.targets[room_], std::move(on_done));
  else
    ws_.async_handshake(host, s_.targets[room_], std::move(on_done));
}

void client::on_handshake(boost::system::error_code ec) {
  if (ec) {
    fail("handshake", ec);
    boost::system::error_code ignored;
    ws_.next_layer().close(ignored);
    w_.failed_.add(1);
    w_.connect_next();
    return;
  }
  open_ = true;
  if (response_) {
    // Whether the server took the offer: crier --compression off, for one, declines it.
    auto const ext = (*response_)[beast::http::field::sec_websocket_extensions];
    if (std::string_view(ext.data(), ext.size()).find("permessage-deflate") != std::string_view::npos)
      ++w_.st_.deflate_negotiated;
    response_.reset();
  }
  w_.st_.connect.record(now_ns() - connect_started_);
  w_.connected_.add(1);
  read();
  w_.connect_next();
}

void client::read() {
  ws_.async_read(rbuf_, [this](boost::system::error_code ec, std::size_t) { on_read(ec); });
}

void client::on_read(boost::system::error_code ec) {
  if (ec) {
    open_ = false;
    if (!closing_) {
      ++w_.st_.server_closes;
      auto const& reason = ws_.reason();
      fail(fmt::format("read (close code {} '{}')", static_cast<unsigned>(reason.code),
                       std::string_view(reason.reason.data(), reason.reason.size())),
           ec);
    }
    w_.closed_.add(1);
    return;
  }
  auto const data = rbuf_.cdata();
  std::string_view const payload(static_cast<char const*>(data.data()), data.size());
  if (kind_ == receiver_kind::json)
    w_.deliver_event(*this, payload);
  else
    w_.deliver(*this, payload);
  rbuf_.consume(rbuf_.size());
  read();
}

void client::sse_request() {
  auto& e = *sse_;
  e.request = fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n"
                          "User-Agent: crier-bench\r\n\r\n",
                          s_.sse_targets[room_], s_.host_headers[id_ % s_.host_headers.size()]);
  asio::async_write(ws_.next_layer(), asio::buffer(e.request), [this](boost::system::error_code ec, std::size_t) {
    if (ec) {
      sse_stop("sse request", ec);
      return;
    }
    sse_read();
  });
}

void client::sse_read() {
  ws_.next_layer().async_read_some(asio::buffer(sse_->buffer.get(), event_stream::buffer_size),
                                   [this](boost::system::error_code ec, std::size_t n) { on_sse_read(ec, n); });
}

void client::on_sse_read(boost::system::error_code ec, std::size_t n) {
  auto& e = *sse_;
  if (ec) {
    std::string what = open_ ? "read" : "sse response";
    if (ec == asio::error::eof) what += e.http.ended() ? " (the server ended the stream" : " (the server closed the connection";
    if (ec == asio::error::eof) what += e.close_event.empty() ? ")" : ", close event " + e.close_event + ")";
    sse_stop(what, ec);
    return;
  }
  bool events_ok = true;
  bool const http_ok = e.http.feed(std::string_view(e.buffer.get(), n), [&](std::string_view body) {
    if (events_ok) events_ok = e.parser.feed(body, [this](sse_event const& ev) { on_sse_event(ev); });
  });
  if (!open_ && http_ok && e.http.head_done()) {
    // The head comes once crier has joined the subscriber to the room: it is connected.
    open_ = true;
    w_.st_.connect.record(now_ns() - connect_started_);
    w_.connected_.add(1);
    w_.connect_next();
  }
  if (!http_ok || !events_ok) {
    sse_stop(!http_ok ? "sse response: " + e.http.error() : "event stream: " + e.parser.error(),
             boost::system::errc::make_error_code(boost::system::errc::protocol_error));
    return;
  }
  sse_read();
}

void client::on_sse_event(sse_event const& ev) {
  if (ev.type == "message") {
    w_.deliver_event(*this, ev.data);
  } else if (ev.type == "close") {
    sse_->close_event.assign(ev.data); // the stream ends after it: the read that sees the end says why
  } else {
    ++w_.st_.other_events;
  }
}

void client::sse_stop(std::string const& what, boost::system::error_code ec) {
  // Once per stream: no read is started after this. Before the response head it is a failed
  // connection; after it, a close (the server's, unless we are closing).
  bool const was_open = open_;
  open_ = false;
  if (!closing_) {
    if (was_open) ++w_.st_.server_closes;
    fail(what, ec);
  }
  boost::system::error_code ignored;
  ws_.next_layer().close(ignored);
  if (was_open) {
    w_.closed_.add(1);
  } else {
    w_.failed_.add(1);
    w_.connect_next();
  }
}

void worker::deliver_event(client& r, std::string_view json) {
  auto const m = read_message_text(json, text_scratch_);
  if (m.kind == crier_event::message) {
    deliver(r, m.text);
  } else if (m.kind == crier_event::other) {
    ++st_.other_events;
  } else {
    ++st_.received_total;
    ++st_.corrupt;
  }
}

void client::start_sending() {
  if (s_.opt.rate > 0) {
    tick_ = std::make_unique<timer_type>(ws_.get_executor());
    // Spread the senders' first messages over one period so they do not all send at once.
    auto const offset = s_.period_ns * id_ / std::max(1u, s_.opt.senders);
    next_tick_ = steady::now() + std::chrono::nanoseconds(static_cast<std::int64_t>(offset));
    schedule_tick();
    return;
  }
  queued_ = s_.opt.in_flight;
  kick();
}

void client::send_broadcast() {
  if (!open_ || closing_) return;
  auto msg = std::make_shared<std::string>(R"({"type":"message","text":"crier-bench presence broadcast"})");
  s_.ctl.broadcast_ns.store(now_ns());
  ws_.text(true);
  ws_.async_write(asio::buffer(*msg), [this, msg](boost::system::error_code ec, std::size_t) {
    if (ec && !closing_) fail("write", ec);
  });
}

void worker::deliver_presence_scenario(std::string_view payload) {
  // Frames are crier.v1 events; the type is the first field the server writes.
  if (payload.starts_with(R"({"type":"message")")) {
    auto const sent = s_.ctl.broadcast_ns.load();
    auto const now = now_ns();
    ++st_.broadcasts;
    broadcast_got_.add(1);
    st_.latency.record(sent != 0 && now >= sent ? now - sent : 0);
  } else if (payload.starts_with(R"({"type":"welcome")")) {
    ++st_.welcomes;
    welcomed_.add(1);
  } else if (payload.starts_with(R"({"type":"presence")") || payload.starts_with(R"({"type":"join")") ||
             payload.starts_with(R"({"type":"leave")")) {
    ++st_.presence_events;
    presence_got_.add(1);
  } else {
    ++st_.foreign;
  }
}

void client::send_one() {
  if (!sends_) return;
  ++queued_;
  kick();
}

void client::schedule_tick() {
  tick_->expires_at(next_tick_);
  tick_->async_wait([this](boost::system::error_code ec) {
    if (ec || closing_ || !s_.ctl.sending.load(std::memory_order_relaxed)) return;
    auto const limit = s_.opt.in_flight;
    if (limit == 0 || in_flight_ + queued_ < limit) {
      ++queued_;
      kick();
    } else {
      ++w_.st_.skipped_ticks;
    }
    next_tick_ += std::chrono::nanoseconds(static_cast<std::int64_t>(s_.period_ns));
    auto const now = steady::now();
    if (next_tick_ + 1s < now) next_tick_ = now; // do not burst to catch up after a long stall
    schedule_tick();
  });
}

void client::on_own_echo() {
  if (in_flight_ > 0) --in_flight_;
  if (s_.opt.rate > 0 || !s_.ctl.sending.load(std::memory_order_relaxed)) return;
  ++queued_;
  kick();
}

void client::kick() {
  if (writing_ || queued_ == 0 || !open_ || closing_) return;
  --queued_;
  auto const sent_at = now_ns();
  if (s_.chat)
    s_.chat->write(out_, header{id_, next_seq_++, sent_at});
  else
    write_header(out_.data(), header{id_, next_seq_++, sent_at});
  ++in_flight_;
  writing_ = true;
  ++w_.st_.sent_total;
  w_.sent_.add(1);
  if (sent_at >= s_.ctl.window_start.load(std::memory_order_relaxed) &&
      sent_at < s_.ctl.window_end.load(std::memory_order_relaxed))
    ++w_.st_.sent_window;
  w_.expected_.add(s_.room_size[room_]);
  ws_.async_write(asio::buffer(out_), [this](boost::system::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) {
      if (!closing_) fail("write", ec);
      return;
    }
    if (close_after_write_) {
      close_after_write_ = false;
      closing_ = false; // let close() run now
      close();
      return;
    }
    kick();
  });
}

void client::close() {
  closing_ = true;
  if (tick_) tick_->cancel();
  if (!open_) return;
  if (sse_) {
    // An event stream ends when the client goes: the pending read then ends, and counts the close.
    boost::system::error_code ignored;
    ws_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
    ws_.next_layer().close(ignored);
    return;
  }
  if (writing_) {
    close_after_write_ = true; // one write at a time: the close goes after this one
    return;
  }
  ws_.async_close(websocket::close_code::normal, [](boost::system::error_code) {
    // The pending read sees the server's answer and ends.
  });
}

void worker::deliver(client& r, std::string_view payload) {
  ++st_.received_total;
  if (s_.opt.presence) {
    deliver_presence_scenario(payload);
    return;
  }
  auto const now = now_ns();
  // A chat message is compared byte for byte with what its header says was sent; a fixed one by
  // its header and size (its padding is all the same).
  auto const h = s_.chat                         ? s_.chat->check(payload)
                 : payload.size() == s_.opt.size ? read_header(payload)
                                                 : std::nullopt;
  if (!h) {
    ++st_.corrupt;
    return;
  }
  auto const local = h->sender / s_.opt.rooms;
  if (h->sender >= s_.tracked_senders || s_.room_of(h->sender) != r.room_ || local >= r.tracks_.size()) {
    ++st_.foreign;
    return;
  }
  auto const res = r.tracks_[local].observe(h->seq);
  switch (res.v) {
  case seq_tracker::verdict::in_order:
    unique_.add(1);
    break;
  case seq_tracker::verdict::gap:
    ++st_.gaps;
    st_.missing += res.skipped;
    unique_.add(1);
    break;
  case seq_tracker::verdict::reordered:
    ++st_.reorders;
    unique_.add(1);
    break;
  case seq_tracker::verdict::duplicate:
  case seq_tracker::verdict::too_old:
    ++st_.duplicates;
    break;
  }
  if (now >= s_.ctl.window_start.load(std::memory_order_relaxed) &&
      now < s_.ctl.window_end.load(std::memory_order_relaxed)) {
    ++st_.deliveries_window;
    st_.payload_bytes_window += payload.size();
    st_.latency.record(now >= h->sent_ns ? now - h->sent_ns : 0);
  }
  if (!acks_.empty()) {
    if (h->sender < acks_.size() && res.v != seq_tracker::verdict::duplicate && res.v != seq_tracker::verdict::too_old) {
      auto& ring = acks_[h->sender];
      auto& count = ring[h->seq % ring.size()];
      if (++count == s_.room_size[s_.room_of(h->sender)]) {
        count = 0;
        clients_[h->sender]->on_own_echo(); // every client of the room has it: the window moves
      }
    }
  } else if (h->sender == r.id_) {
    r.on_own_echo();
  }
}

} // namespace crier::bench
