#include "server/http_session.hpp"

#include "common/access.hpp"
#include "common/handshake.hpp"
#include "common/identity.hpp"
#include "common/mime_types.hpp"
#include "common/names.hpp"
#include "common/protocol.hpp"
#include "common/query.hpp"
#include "common/static_path.hpp"
#include "server/broker.hpp"
#include "server/logging.hpp"
#include "server/ws_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <charconv>
#include <sstream>

namespace crier {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view server_header = "crier/" CRIER_VERSION;
constexpr std::size_t max_header_bytes = 8 * 1024;

http::response<http::string_body> text_response(http::status status, std::string body, unsigned version,
                                                 bool keep_alive, std::string_view type = "text/plain; charset=utf-8") {
  http::response<http::string_body> res{status, version};
  res.set(http::field::server, server_header);
  res.set(http::field::content_type, type);
  res.set("X-Content-Type-Options", "nosniff");
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  if (!res.body().empty() && res.body().back() != '\n') res.body() += '\n';
  res.prepare_payload();
  return res;
}

http::response<http::string_body> method_not_allowed(unsigned version, bool keep_alive) {
  auto res = text_response(http::status::method_not_allowed, "method not allowed", version, keep_alive);
  res.set(http::field::allow, "GET, HEAD");
  return res;
}

std::string endpoint_string(tcp::socket const& socket) {
  boost::system::error_code ec;
  auto const ep = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  std::ostringstream out;
  out << ep;
  return out.str();
}

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (std::exception const& ex) {
    log_error("http session failed", {{"error", ex.what()}});
  }
}

// Ends a connection politely: TCP half-close, or a TLS close_notify bounded by the stream's timer.
asio::awaitable<void> finish(plain_stream& s) {
  boost::system::error_code ignored;
  s.socket().shutdown(tcp::socket::shutdown_send, ignored);
  co_return;
}
asio::awaitable<void> finish(tls_stream& s) {
  beast::get_lowest_layer(s).expires_after(std::chrono::seconds(2));
  co_await s.async_shutdown(nothrow);
}

template <class Stream>
class http_connection {
public:
  http_connection(Stream&& stream, server_state& state, std::string peer)
    : stream_(std::move(stream)), state_(state), peer_(std::move(peer)) {}

  asio::awaitable<void> run();

private:
  using request = upgrade_request;

  // Each returns false when the connection must end.
  template <class Body>
  asio::awaitable<bool> send(http::response<Body>&& res);
  asio::awaitable<bool> send_error(http::status status, std::string body, unsigned version, bool keep_alive);
  asio::awaitable<bool> serve_file(request const& req);
  asio::awaitable<bool> serve_api(request const& req, std::string_view path);
  asio::awaitable<bool> serve_probe(request const& req, std::string_view path);
  asio::awaitable<bool> upgrade(http::request_parser<http::empty_body>& parser, std::string room);
  bool token_ok(request const& req) const;

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
  co_return keep_alive;
}

template <class Stream>
asio::awaitable<bool> http_connection<Stream>::send_error(http::status status, std::string body, unsigned version,
                                                          bool keep_alive) {
  co_return co_await send(text_response(status, std::move(body), version, keep_alive));
}

template <class Stream>
bool http_connection<Stream>::token_ok(request const& req) const {
  auto const& secret = state_.cfg().auth_token;
  if (secret.empty()) return true;
  auto const auth = req[http::field::authorization];
  constexpr std::string_view bearer = "Bearer ";
  if (auth.size() > bearer.size() && std::string_view(auth).substr(0, bearer.size()) == bearer &&
      token_matches(std::string_view(auth).substr(bearer.size()), secret))
    return true;
  auto const query = query_param(req.target(), "token");
  return query && token_matches(*query, secret);
}

template <class Stream>
asio::awaitable<bool> http_connection<Stream>::serve_file(request const& req) {
  auto const resolved = resolve_static_path(state_.cfg().static_dir, req.target());
  if (auto const* err = std::get_if<static_path_error>(&resolved)) {
    switch (*err) {
    case static_path_error::bad_request:
      co_return co_await send_error(http::status::bad_request, "bad request target", req.version(), false);
    case static_path_error::forbidden:
      log_info("http refused a path outside the static dir",
               {{"peer", peer_}, {"target", redact_target(req.target())}});
      co_return co_await send_error(http::status::forbidden, "forbidden", req.version(), req.keep_alive());
    case static_path_error::not_found:
      co_return co_await send_error(http::status::not_found, "not found", req.version(), req.keep_alive());
    }
  }
  auto const& path = std::get<std::filesystem::path>(resolved);

  beast::error_code ec;
  http::file_body::value_type file;
  file.open(path.c_str(), beast::file_mode::scan, ec);
  if (ec) co_return co_await send_error(http::status::not_found, "not found", req.version(), req.keep_alive());
  auto const size = file.size();

  auto const set_headers = [&](auto& res) {
    res.set(http::field::server, server_header);
    res.set(http::field::content_type, mime_type(path.native()));
    res.set(http::field::cache_control, "no-cache");
    res.set("X-Content-Type-Options", "nosniff");
    res.keep_alive(req.keep_alive());
  };
  if (req.method() == http::verb::head) {
    http::response<http::empty_body> res{http::status::ok, req.version()};
    set_headers(res);
    res.content_length(size);
    co_return co_await send(std::move(res));
  }
  http::response<http::file_body> res{std::piecewise_construct, std::make_tuple(std::move(file)),
                                      std::make_tuple(http::status::ok, req.version())};
  set_headers(res);
  res.content_length(size);
  co_return co_await send(std::move(res));
}

template <class Stream>
asio::awaitable<bool> http_connection<Stream>::serve_probe(request const& req, std::string_view path) {
  // Probes need no token, so that load balancers and orchestrators can use them.
  auto status = http::status::ok;
  std::string body = "ok";
  std::string_view type = "text/plain; charset=utf-8";
  if (path == "/readyz") {
    if (auto reason = state_.not_ready_reason()) {
      status = http::status::service_unavailable;
      body = *reason;
    } else {
      body = "ready";
    }
  } else if (path == "/metrics") {
    body = state_.metrics().render(state_.gauges());
    type = "text/plain; version=0.0.4; charset=utf-8";
  }
  auto res = text_response(status, std::move(body), req.version(), req.keep_alive(), type);
  res.set(http::field::cache_control, "no-store");
  if (req.method() == http::verb::head) res.body().clear();
  co_return co_await send(std::move(res));
}

template <class Stream>
asio::awaitable<bool> http_connection<Stream>::upgrade(http::request_parser<http::empty_body>& parser, std::string room) {
  auto const& req = parser.get();
  auto const target = req.target();
  auto& m = state_.metrics();
  session_params p;
  p.room = std::move(room);
  p.peer = peer_;
  p.format = offers_json_subprotocol(req[http::field::sec_websocket_protocol]) ? wire_format::json : wire_format::raw;

  // Who may connect: the Origin (cross-site WebSocket hijacking), then the token.
  auto const origin = req[http::field::origin];
  if (!origin_allowed(origin, req[http::field::host], state_.cfg().allowed_origins)) {
    m.connection(conn_outcome::rejected_origin);
    log_info("ws upgrade refused: origin not allowed", {{"peer", peer_}, {"origin", origin}});
    co_return co_await send_error(http::status::forbidden, "origin not allowed", req.version(), false);
  }
  if (!token_ok(req)) {
    m.connection(conn_outcome::rejected_auth);
    log_info("ws upgrade refused: missing or wrong token", {{"peer", peer_}});
    auto res = text_response(http::status::unauthorized, "a valid token is required", req.version(), false);
    res.set(http::field::www_authenticate, "Bearer");
    co_return co_await send(std::move(res));
  }

  // Identity: ?name= if valid, else a guest name; the id is always the server's.
  p.identity.id = new_session_id();
  if (has_query_param(target, "name")) {
    std::string error = "name is not valid percent-encoding";
    auto const raw = query_param(target, "name");
    auto name = raw ? validate_display_name(*raw, error) : std::nullopt;
    if (!name) {
      m.connection(conn_outcome::handshake_failed);
      log_info("ws upgrade refused: invalid name", {{"peer", peer_}, {"reason", error}});
      co_return co_await send_error(http::status::bad_request, "invalid name: " + error, req.version(), false);
    }
    p.identity.name = std::move(*name);
  } else {
    p.identity.name = guest_name();
  }

  // Resume: ?since=SEQ (and the room epoch that seq belongs to, when the client knows it).
  if (has_query_param(target, "since")) {
    auto const since = query_param(target, "since");
    std::uint64_t value = 0;
    auto const* end = since ? since->data() + since->size() : nullptr;
    if (!since || since->empty() || std::from_chars(since->data(), end, value).ptr != end) {
      m.connection(conn_outcome::handshake_failed);
      co_return co_await send_error(http::status::bad_request, "invalid since: expected a message seq number",
                                    req.version(), false);
    }
    p.join.since = value;
    p.join.epoch = query_param(target, "epoch");
  }

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
asio::awaitable<bool> http_connection<Stream>::serve_api(request const& req, std::string_view path) {
  // Read-only JSON for operators and the page; behind the token when there is one.
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    co_return co_await send(method_not_allowed(req.version(), req.keep_alive()));
  }
  if (!token_ok(req)) {
    log_info("http api refused: missing or wrong token", {{"peer", peer_}});
    auto res = text_response(http::status::unauthorized, R"({"error":"a valid token is required"})", req.version(),
                             req.keep_alive(), "application/json");
    res.set(http::field::www_authenticate, "Bearer");
    co_return co_await send(std::move(res));
  }
  std::string body;
  auto status = http::status::ok;
  if (path == "/api/rooms" || path == "/api/rooms/") {
    body = "[";
    bool first = true;
    std::optional<std::vector<room_summary>> rooms;
    // Cluster mode: counts from Redis, every node's members; this node's view if Redis is away.
    if (auto* b = state_.broker()) rooms = co_await b->list_rooms(std::chrono::seconds(2));
    if (!rooms) rooms = state_.rooms().list();
    for (auto const& r : *rooms) {
      if (!first) body += ',';
      first = false;
      body += R"({"room":)" + json_string(r.name) + R"(,"members":)" + std::to_string(r.members) + "}";
    }
    body += "]";
  } else if (path.starts_with("/api/rooms/") && is_valid_room_name(path.substr(11))) {
    auto const name = std::string(path.substr(11));
    auto const r = state_.rooms().find(name);
    std::vector<member_info> members;
    std::uint64_t seq = 0;
    std::optional<broker::room_detail> cluster;
    // Cluster mode: every node's members, from Redis; this node's view if Redis is away.
    if (auto* b = state_.broker()) cluster = co_await b->describe_room(name, std::chrono::seconds(2));
    if (cluster) {
      members = std::move(cluster->members);
      seq = cluster->seq;
    } else if (r) {
      members = r->members();
      seq = r->last_seq();
    }
    body = R"({"room":)" + json_string(name) + R"(,"members":[)";
    bool first = true;
    for (auto const& member : members) {
      if (!first) body += ',';
      first = false;
      body += R"({"id":)" + json_string(member.id) + R"(,"name":)" + json_string(member.name) + "}";
    }
    body += R"(],"seq":)" + std::to_string(seq) + "}";
  } else {
    status = http::status::not_found;
    body = R"({"error":"not found"})";
  }
  auto res = text_response(status, std::move(body), req.version(), req.keep_alive(), "application/json");
  res.set(http::field::cache_control, "no-store");
  if (req.method() == http::verb::head) res.body().clear();
  co_return co_await send(std::move(res));
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
    // No endpoint takes a body; refusing them keeps every request small and bounded.
    if ((req.has_content_length() && parser.content_length().value_or(0) > 0) || req.chunked()) {
      co_await send_error(http::status::payload_too_large, "request bodies are not accepted", req.version(), false);
      co_return;
    }
    if (!parser.is_done()) {
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
        co_await send_error(http::status::bad_request, "invalid room name: use 1-64 characters from A-Z a-z 0-9 . _ -",
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
    } else if (path == "/healthz" || path == "/readyz" || path == "/metrics") {
      if (!get_or_head) {
        keep = co_await send(method_not_allowed(req.version(), req.keep_alive()));
      } else {
        keep = co_await serve_probe(req, path);
      }
    } else if (path == "/api" || path.starts_with("/api/")) {
      keep = co_await serve_api(req, path);
    } else if (get_or_head) {
      keep = co_await serve_file(req);
    } else {
      keep = co_await send(method_not_allowed(req.version(), req.keep_alive()));
    }
    if (!keep) {
      co_await finish(stream_);
      co_return;
    }
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

void start_http_session(tcp::socket socket, server_state& state) {
  auto executor = socket.get_executor();
  auto peer = endpoint_string(socket);
  if (auto* tls = state.tls()) {
    asio::co_spawn(executor, tls_then_http(tls_stream(plain_stream(std::move(socket)), *tls), state, std::move(peer)),
                   log_exception);
  } else {
    asio::co_spawn(executor, plain_http(plain_stream(std::move(socket)), state, std::move(peer)), log_exception);
  }
}

} // namespace crier
