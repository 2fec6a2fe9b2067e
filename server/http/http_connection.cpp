#include "server/http/http_connection.hpp"

#include "common/access.hpp"
#include "common/handshake.hpp"
#include "common/identity.hpp"
#include "common/names.hpp"
#include "common/protocol.hpp"
#include "common/query.hpp"
#include "common/static_path.hpp"
#include "server/http/admission.hpp"
#include "server/http/api.hpp"
#include "server/http/probes.hpp"
#include "server/http/request.hpp"
#include "server/http/responses.hpp"
#include "server/http/static_files.hpp"
#include "server/logging.hpp"
#include "server/net.hpp"
#include "server/session/sse_session.hpp"
#include "server/session/ws_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <array>
#include <charconv>
#include <sstream>
#include <type_traits>
#include <variant>

namespace crier {

using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t max_header_bytes = 8 * 1024;
// What a WebSocket or event-stream path with a room name that is not allowed is answered.
constexpr std::string_view invalid_room_name = "invalid room name: use 1-64 characters from A-Z a-z 0-9 . _ -";
constexpr std::string_view continue_response = "HTTP/1.1 100 Continue\r\n\r\n";

std::string endpoint_string(tcp::socket const& socket) {
  boost::system::error_code ec;
  auto const ep = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  std::ostringstream out;
  out << ep;
  return out.str();
}

// Ends a connection politely: TCP half-close, or a TLS close_notify bounded by the stream's timer.
// Over plain TCP the close lingers: what the client is still sending (the rest of a request
// refused at 8 KiB of headers, a body it was told not to send) is read and dropped, bounded in
// time and bytes. Closing with unread bytes would make the kernel answer with an RST, which can
// destroy the response before the client reads it.
asio::awaitable<void> finish(plain_stream& s) {
  boost::system::error_code ignored;
  s.socket().shutdown(tcp::socket::shutdown_send, ignored);
  constexpr std::size_t max_drained = 64 * 1024;
  s.expires_after(std::chrono::seconds(1));
  std::array<char, 2048> sink;
  for (std::size_t drained = 0; drained < max_drained;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(sink), nothrow);
    if (ec) break; // the client's end of the stream, the deadline, or a reset
    drained += n;
  }
}
asio::awaitable<void> finish(tls_stream& s) {
  beast::get_lowest_layer(s).expires_after(std::chrono::seconds(2));
  co_await s.async_shutdown(nothrow);
}

// Reads requests one at a time on the stream's strand; the handlers only build responses, and
// send() is the one writer.
template <class Stream>
class http_connection {
public:
  http_connection(Stream&& stream, server_state& state, std::string peer)
    : stream_(std::move(stream)), state_(state), peer_(std::move(peer)) {}

  asio::awaitable<void> run();

private:
  // Each returns false when the connection must end.
  template <class Body>
  asio::awaitable<bool> send(http::response<Body>&& res);
  asio::awaitable<bool> send_error(http::status status, std::string body, unsigned version, bool keep_alive);
  asio::awaitable<bool> upgrade(http::request_parser<http::empty_body>& parser, std::string room);
  // GET /sse/<room>: admitted like an upgrade, then the connection becomes the room's event
  // stream.
  asio::awaitable<bool> serve_sse(http::request_parser<http::empty_body>& parser, std::string room);
  asio::awaitable<bool> refuse(admission_refusal refusal, unsigned version);
  // An /api/* request: its body (the server API's POSTs) read, bounded, and answered.
  asio::awaitable<bool> serve_api(http::request_parser<http::empty_body>& parser, std::string path);

  Stream stream_;
  beast::flat_buffer buffer_;
  server_state& state_;
  std::string const peer_;
};

template <class Stream>
template <class Body>
asio::awaitable<bool> http_connection<Stream>::send(http::response<Body>&& res) {
  beast::get_lowest_layer(stream_).expires_after(state_.cfg().handshake_timeout);
  auto const keep_alive = res.keep_alive();
  auto [ec, n] = co_await http::async_write(stream_, res, nothrow);
  if (ec) {
    log_debug("http write failed", {{"peer", peer_}, {"error", ec.message()}});
    co_return false;
  }
  // The last response on this connection: close it gracefully here, whoever sent it.
  if (!keep_alive) co_await finish(stream_);
  co_return keep_alive;
}

template <class Stream>
asio::awaitable<bool> http_connection<Stream>::send_error(http::status status, std::string body, unsigned version,
                                                          bool keep_alive) {
  co_return co_await send(text_response(status, std::move(body), version, keep_alive));
}

template <class Stream>
asio::awaitable<bool> http_connection<Stream>::refuse(admission_refusal refusal, unsigned version) {
  auto res = text_response(refusal.status, std::move(refusal.body), version, false);
  if (refusal.bearer_challenge) res.set(http::field::www_authenticate, "Bearer");
  co_return co_await send(std::move(res));
}

template <class Stream>
asio::awaitable<bool> http_connection<Stream>::upgrade(http::request_parser<http::empty_body>& parser, std::string room) {
  auto const& req = parser.get();
  auto& m = state_.metrics();
  auto admitted = admit_session(req, std::move(room), state_, peer_, session_kind::websocket);
  if (auto* refusal = std::get_if<admission_refusal>(&admitted)) co_return co_await refuse(std::move(*refusal), req.version());
  auto& p = std::get<session_params>(admitted);

  if (!state_.try_reserve_session()) {
    m.connection(conn_outcome::rejected_limit);
    log_warn("ws upgrade refused: connection limit reached",
             {{"peer", peer_}, {"max_connections", state_.cfg().max_connections}});
    co_return co_await send_error(http::status::service_unavailable, "too many connections: try again later",
                                  req.version(), false);
  }
  beast::get_lowest_layer(stream_).expires_never(); // the WebSocket stream has its own timeouts
  if constexpr (std::is_same_v<Stream, plain_stream>)
    start_ws_session(stream_.release_socket(), state_, std::move(p), parser.release());
  else
    start_ws_session(std::move(stream_), state_, std::move(p), parser.release());
  co_return false;
}

template <class Stream>
asio::awaitable<bool> http_connection<Stream>::serve_sse(http::request_parser<http::empty_body>& parser, std::string room) {
  auto const& req = parser.get();
  auto admitted = admit_session(req, std::move(room), state_, peer_, session_kind::event_stream);
  if (auto* refusal = std::get_if<admission_refusal>(&admitted)) co_return co_await refuse(std::move(*refusal), req.version());
  if (!state_.try_reserve_session()) {
    state_.metrics().connection(conn_outcome::rejected_limit);
    log_warn("sse refused: connection limit reached",
             {{"peer", peer_}, {"max_connections", state_.cfg().max_connections}});
    co_return co_await send_error(http::status::service_unavailable, "too many connections: try again later",
                                  req.version(), false);
  }
  // An EventSource on another origin that --allowed-origins admits reads the stream only if the
  // response says it may (CORS); admission has already refused the origins it does not admit.
  sse_request how{req.version(), std::string(req[http::field::origin])};
  start_sse_session(std::move(stream_), state_, std::move(std::get<session_params>(admitted)), std::move(how));
  co_return false;
}

template <class Stream>
asio::awaitable<bool> http_connection<Stream>::serve_api(http::request_parser<http::empty_body>& header,
                                                         std::string path) {
  http::request_parser<http::string_body> parser(std::move(header));
  auto const limit = api_body_limit(state_.cfg());
  parser.body_limit(limit);
  auto const& req = parser.get();
  if (parser.content_length().value_or(0) > limit) co_return co_await send(api_body_too_large(req, path, state_));
  if (!parser.is_done()) {
    // curl and most HTTP clients wait for this before sending a body over 1 KiB.
    if (beast::iequals(req[http::field::expect], "100-continue") && req.version() >= 11) {
      auto [wec, wn] = co_await asio::async_write(stream_, asio::buffer(continue_response.data(), continue_response.size()),
                                                  nothrow);
      if (wec) co_return false;
    }
    beast::get_lowest_layer(stream_).expires_after(state_.cfg().handshake_timeout);
    auto [ec, n] = co_await http::async_read(stream_, buffer_, parser, nothrow);
    if (ec == http::error::body_limit) co_return co_await send(api_body_too_large(req, path, state_));
    if (ec) {
      log_info("http request body not read", {{"peer", peer_}, {"error", ec.message()}});
      co_return false;
    }
  }
  co_return co_await send(co_await api_response(req, path, state_, peer_));
}

template <class Stream>
asio::awaitable<void> http_connection<Stream>::run() {
  auto const& cfg = state_.cfg();
  for (;;) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(max_header_bytes);
    beast::get_lowest_layer(stream_).expires_after(cfg.handshake_timeout); // a slow or silent client is dropped

    auto [ec, n] = co_await http::async_read_header(stream_, buffer_, parser, nothrow);
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset) co_return;
    if (ec == beast::error::timeout) {
      // Idle keep-alive connections end this way too; only a request cut off midway is news.
      if (parser.got_some()) {
        state_.metrics().handshake_timeout();
        log_info("http request timed out", {{"peer", peer_}, {"timeout_ms", cfg.handshake_timeout.count()}});
      }
      co_return;
    }
    if (ec == http::error::header_limit) {
      log_info("http request refused: headers too large", {{"peer", peer_}, {"limit", max_header_bytes}});
      co_await send_error(http::status::request_header_fields_too_large, "request headers too large", 11, false);
      co_return;
    }
    if (ec) {
      log_info("http malformed request", {{"peer", peer_}, {"error", ec.message()}});
      co_await send_error(http::status::bad_request, "malformed request", 11, false);
      co_return;
    }
    state_.metrics().http_request();

    auto const& req = parser.get();
    // RFC 9112 section 6.1: a request whose transfer coding the server does not know cannot be
    // framed; answering it as if it had no body would let the "body" be read as the next request.
    if (req.count(http::field::transfer_encoding) > 0 && !req.chunked()) {
      log_info("http request refused: unsupported transfer coding",
               {{"peer", peer_}, {"transfer_encoding", req[http::field::transfer_encoding]}});
      co_await send_error(http::status::not_implemented, "unsupported transfer coding", req.version(), false);
      co_return;
    }
    // Only the server API's POSTs take a body; refusing the rest keeps every request small and
    // bounded.
    bool const takes_body = api_takes_body(req.method(), target_path(req.target()));
    if (((req.has_content_length() && parser.content_length().value_or(0) > 0) || req.chunked()) && !takes_body) {
      co_await send_error(http::status::payload_too_large, "request bodies are not accepted", req.version(), false);
      co_return;
    }
    if (!parser.is_done() && !takes_body) {
      std::tie(ec, n) = co_await http::async_read(stream_, buffer_, parser, nothrow);
      if (ec) co_return;
    }

    log_debug("http request", {{"peer", peer_}, {"method", req.method_string()}, {"target", redact_target(req.target())}});
    auto const path = target_path(req.target());
    if (path.empty() || path.front() != '/') {
      co_await send_error(http::status::bad_request, "bad request target", req.version(), false);
      co_return;
    }

    bool keep = false;
    bool const get_or_head = req.method() == http::verb::get || req.method() == http::verb::head;
    // Only a GET opens a WebSocket (RFC 6455 section 4.1): other methods on a WebSocket path get
    // the 405 below, like everywhere else, rather than a 426 as if upgrading could work.
    if (auto room = room_from_ws_path(path); room && get_or_head) {
      if (!beast::websocket::is_upgrade(req)) {
        keep = co_await send_error(http::status::upgrade_required,
                                   "this is a WebSocket endpoint; connect with a WebSocket client", req.version(),
                                   req.keep_alive());
      } else if (room->empty()) {
        log_info("ws upgrade refused: invalid room name", {{"peer", peer_}, {"path", path}});
        state_.metrics().connection(conn_outcome::handshake_failed);
        co_await send_error(http::status::bad_request, std::string(invalid_room_name),
                            req.version(), false);
        keep = false;
      } else if (!is_valid_websocket_key(req[http::field::sec_websocket_key])) {
        // Beast only refuses keys that are too long; an empty or short one would get a 101.
        log_info("ws upgrade refused: missing or malformed Sec-WebSocket-Key", {{"peer", peer_}});
        state_.metrics().connection(conn_outcome::handshake_failed);
        co_await send_error(http::status::bad_request, "missing or malformed Sec-WebSocket-Key", req.version(), false);
        keep = false;
      } else if (co_await upgrade(parser, std::move(*room))) {
        continue;
      } else {
        co_return; // handed over to the WebSocket session, or refused
      }
    } else if (auto sse_room = room_from_sse_path(path)) {
      if (req.method() != http::verb::get) {
        auto res = method_not_allowed(req.version(), req.keep_alive());
        res.set(http::field::allow, "GET");
        keep = co_await send(std::move(res));
      } else if (sse_room->empty()) {
        log_info("sse refused: invalid room name", {{"peer", peer_}, {"path", path}});
        state_.metrics().connection(conn_outcome::handshake_failed);
        co_await send_error(http::status::bad_request, std::string(invalid_room_name),
                            req.version(), false);
        keep = false;
      } else {
        co_await serve_sse(parser, std::move(*sse_room));
        co_return; // the connection is the event stream now, or was refused
      }
    } else if (is_probe_path(path)) {
      keep = co_await send(probe_response(req, path, state_));
    } else if (is_api_path(path)) {
      keep = co_await serve_api(parser, std::string(path));
    } else if (get_or_head) {
      auto res = static_file(req, state_, peer_);
      keep = co_await std::visit([this](auto& r) { return send(std::move(r)); }, res);
    } else {
      keep = co_await send(method_not_allowed(req.version(), req.keep_alive()));
    }
    if (!keep) co_return; // send() has closed it
  }
}

// GCC 12 at -O2/-O3 warns -Wmismatched-new-delete twice here, a false positive: it inlines
// connection.run()'s coroutine frame into these two frames, sees the frame come from Asio's
// awaitable_frame_base::operator new (a call it does not look into) and go to std::free (the end of
// the inlined awaitable_frame_base::operator delete), and takes that for operator new paired with
// free. The frame's operator new allocates with std::aligned_alloc (Asio's aligned_new, through its
// per-thread recycling allocator), so free is the right deallocation. Silenced for these two
// functions only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
asio::awaitable<void> tls_then_http(tls_stream stream, server_state& state, std::string peer) {
  beast::get_lowest_layer(stream).expires_after(state.cfg().handshake_timeout);
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, nothrow);
  if (ec) {
    if (ec == beast::error::timeout) state.metrics().handshake_timeout();
    log_info("tls handshake failed", {{"peer", peer}, {"error", ec.message()}});
    co_return;
  }
  http_connection<tls_stream> connection(std::move(stream), state, std::move(peer));
  co_await connection.run();
}

asio::awaitable<void> plain_http(plain_stream stream, server_state& state, std::string peer) {
  http_connection<plain_stream> connection(std::move(stream), state, std::move(peer));
  co_await connection.run();
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

} // namespace

void start_http_connection(tcp::socket socket, server_state& state) {
  auto executor = socket.get_executor();
  auto peer = endpoint_string(socket);
  if (auto* tls = state.tls()) {
    asio::co_spawn(executor, tls_then_http(tls_stream(plain_stream(std::move(socket)), *tls), state, std::move(peer)),
                   [](std::exception_ptr e) { log_exception("http session", {}, e); });
  } else {
    asio::co_spawn(executor, plain_http(plain_stream(std::move(socket)), state, std::move(peer)),
                   [](std::exception_ptr e) { log_exception("http session", {}, e); });
  }
}

} // namespace crier
