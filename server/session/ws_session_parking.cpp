// ws_session parking: a quiet plain connection lets Beast's WebSocket stream go and makes a new
// one, open from the start, when Beast has work again (ws_session.hpp says when). The rest of the
// session is in ws_session.cpp.
#include "server/session/ws_session.hpp"

#include "server/logging.hpp"
#include "server/net.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/ssl.hpp>

namespace crier {
namespace {

// What a parked connection's new stream answers (ws_session::unpark): the least that a valid
// upgrade request says, no subprotocol, no extension. Made once; Beast only reads it.
upgrade_request const& reopen_request() {
  static upgrade_request const req = [] {
    upgrade_request r{http::verb::get, "/", 11};
    r.set(http::field::host, "crier");
    r.set(http::field::upgrade, "websocket");
    r.set(http::field::connection, "upgrade");
    r.set(http::field::sec_websocket_key, "AAAAAAAAAAAAAAAAAAAAAA==");
    r.set(http::field::sec_websocket_version, "13");
    return r;
  }();
  return req;
}

} // namespace

template <class Stream>
void ws_session<Stream>::configure_stream(std::chrono::steady_clock::duration handshake_timeout) {
  bound_handshake(handshake_timeout);
  ws_->read_message_max(state_.cfg().max_message_size);
  // Whole messages as single frames: one write per message instead of one per 4 KiB.
  ws_->auto_fragment(false);
  // Pongs and pings count as signs of life for the idle timeout.
  ws_->control_callback([this](websocket::frame_type, beast::string_view) { last_rx_ = clock::now(); });
}

template <class Stream>
void ws_session<Stream>::bound_handshake(std::chrono::steady_clock::duration timeout) {
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = timeout;
  timeouts.idle_timeout = websocket::stream_base::none(); // the writer pings and checks idleness
  timeouts.keep_alive_pings = false;
  ws_->set_option(timeouts);
}

template <class Stream>
bool ws_session<Stream>::can_park() const {
  // Beast's inflate state is the one thing a stream between messages may hold that a new one
  // would not (the client's compression context): connections with permessage-deflate keep theirs.
  return idle_reads && ws_ && reader_waiting_ && !writer_running_ && !gate_.writing() && !ended_ && !beast_closing_ &&
         deflate_bits_ == 0 && state_.cfg().park_after.count() > 0 && !queue_.closing() && can_idle();
}

template <class Stream>
void ws_session<Stream>::park() {
  ws_.reset();
  state_.metrics().parked(1);
}

template <class Stream>
void ws_session<Stream>::unpark() {
  if constexpr (idle_reads) {
    if (ws_) return;
    state_.metrics().parked(-1);
    ws_.emplace(gate_);
    // Beast opens a stream only through a handshake. This one answers a request that asks for
    // nothing beyond a plain WebSocket (the session kept no extension: see can_park), and the
    // gate drops the answer: the peer had its own long ago. No timer while it does (Beast would
    // arm one for a handshake); the closing handshake's bound afterwards, as for the first stream.
    configure_stream(websocket::stream_base::none());
    boost::system::error_code ec;
    {
      typename write_gate<Stream>::drop_writes dropping(gate_);
      ws_->accept(reopen_request(), ec);
    }
    bound_handshake(state_.cfg().close_timeout);
    if (ec) {
      // Not expected: the request is always the same valid one. The connection cannot go on
      // without Beast, so it ends as if the peer had gone.
      log_warn("ws could not reopen a parked connection's stream", {{"peer", peer_}, {"error", ec.message()}});
      abort_socket();
    }
  }
}

// Explicit instantiations of the members defined here, as ws_session_writer.cpp does for its own.
#define CRIER_WS_SESSION_PARKING(Stream)                                                        \
  template void ws_session<Stream>::configure_stream(std::chrono::steady_clock::duration);       \
  template void ws_session<Stream>::bound_handshake(std::chrono::steady_clock::duration);        \
  template bool ws_session<Stream>::can_park() const;                                           \
  template void ws_session<Stream>::park();                                                     \
  template void ws_session<Stream>::unpark();
CRIER_WS_SESSION_PARKING(plain_ws_stream)
CRIER_WS_SESSION_PARKING(tls_stream)
#undef CRIER_WS_SESSION_PARKING

} // namespace crier
