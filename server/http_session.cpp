#include "server/http_session.hpp"

#include "common/handshake.hpp"
#include "common/mime_types.hpp"
#include "common/names.hpp"
#include "common/static_path.hpp"
#include "server/ws_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <spdlog/spdlog.h>

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

using request = http::request<http::empty_body>;

http::response<http::string_body> text_response(http::status status, std::string body, unsigned version,
                                                 bool keep_alive) {
  http::response<http::string_body> res{status, version};
  res.set(http::field::server, server_header);
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.set("X-Content-Type-Options", "nosniff");
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  if (!res.body().empty() && res.body().back() != '\n') res.body() += '\n';
  res.prepare_payload();
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

class http_connection {
public:
  http_connection(tcp::socket&& socket, server_state& state)
    : stream_(std::move(socket)), state_(state), peer_(endpoint_string(stream_.socket())) {}

  asio::awaitable<void> run();

private:
  // Each returns false when the connection must end.
  template <class Body>
  asio::awaitable<bool> send(http::response<Body>&& res);
  asio::awaitable<bool> serve_file(request const& req);
  asio::awaitable<bool> send_error(http::status status, std::string body, unsigned version, bool keep_alive);
  void upgrade(http::request_parser<http::empty_body>& parser, std::string room);

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  server_state& state_;
  std::string const peer_;
};

template <class Body>
asio::awaitable<bool> http_connection::send(http::response<Body>&& res) {
  stream_.expires_after(state_.cfg().handshake_timeout);
  auto const keep_alive = res.keep_alive();
  auto [ec, n] = co_await http::async_write(stream_, res, nothrow);
  if (ec) {
    spdlog::debug("http write to {} failed: {}", peer_, ec.message());
    co_return false;
  }
  co_return keep_alive;
}

asio::awaitable<bool> http_connection::send_error(http::status status, std::string body, unsigned version,
                                                  bool keep_alive) {
  co_return co_await send(text_response(status, std::move(body), version, keep_alive));
}

asio::awaitable<bool> http_connection::serve_file(request const& req) {
  auto const resolved = resolve_static_path(state_.cfg().static_dir, req.target());
  if (auto const* err = std::get_if<static_path_error>(&resolved)) {
    switch (*err) {
    case static_path_error::bad_request:
      co_return co_await send_error(http::status::bad_request, "bad request target", req.version(), false);
    case static_path_error::forbidden:
      spdlog::info("http refused path outside the static dir from {}: {}", peer_, std::string_view(req.target()));
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

void http_connection::upgrade(http::request_parser<http::empty_body>& parser, std::string room) {
  stream_.expires_never(); // the WebSocket stream has its own timeouts
  std::make_shared<ws_session>(std::move(stream_), state_, std::move(room), peer_)->start(parser.release());
}

asio::awaitable<void> http_connection::run() {
  auto const& cfg = state_.cfg();
  for (;;) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(max_header_bytes);
    stream_.expires_after(cfg.handshake_timeout); // a slow or silent client is dropped

    auto [ec, n] = co_await http::async_read_header(stream_, buffer_, parser, nothrow);
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset) co_return;
    if (ec == beast::error::timeout) {
      spdlog::debug("http {} timed out waiting for a request", peer_);
      co_return;
    }
    if (ec == http::error::header_limit) {
      spdlog::info("http request from {} refused: headers over {} bytes", peer_, max_header_bytes);
      co_await send_error(http::status::request_header_fields_too_large, "request headers too large", 11, false);
      co_return;
    }
    if (ec) {
      spdlog::info("http malformed request from {}: {}", peer_, ec.message());
      co_await send_error(http::status::bad_request, "malformed request", 11, false);
      co_return;
    }

    auto const& req = parser.get();
    // No endpoint takes a body; refusing them keeps every request small and bounded.
    if ((req.has_content_length() && parser.content_length().value_or(0) > 0) || req.chunked()) {
      co_await send_error(http::status::payload_too_large, "request bodies are not accepted", req.version(), false);
      co_return;
    }
    if (!parser.is_done()) {
      // A header-only request is complete once its header is; finish the parse for form's sake.
      std::tie(ec, n) = co_await http::async_read(stream_, buffer_, parser, nothrow);
      if (ec) co_return;
    }

    spdlog::debug("http {} {} {}", peer_, std::string_view(req.method_string()), std::string_view(req.target()));
    auto const path = target_path(req.target());
    if (path.empty() || path.front() != '/') {
      co_await send_error(http::status::bad_request, "bad request target", req.version(), false);
      co_return;
    }

    if (path == "/healthz" || path == "/readyz") {
      // Probes: /healthz while the process serves, /readyz while it takes new sessions.
      auto status = http::status::ok;
      std::string body = "ok";
      if (path == "/readyz") {
        if (auto reason = state_.not_ready_reason()) {
          status = http::status::service_unavailable;
          body = *reason;
        } else {
          body = "ready";
        }
      }
      auto res = text_response(status, std::move(body), req.version(), req.keep_alive());
      res.set(http::field::cache_control, "no-store");
      if (!co_await send(std::move(res))) co_return;
      continue;
    }

    bool const get_or_head = req.method() == http::verb::get || req.method() == http::verb::head;
    // Only a GET opens a WebSocket (RFC 6455 section 4.1): other methods on a WebSocket path get
    // the 405 below, like everywhere else, rather than a 426 as if upgrading could work.
    if (auto room = room_from_ws_path(path); room && get_or_head) {
      if (!beast::websocket::is_upgrade(req)) {
        bool const keep = co_await send_error(http::status::upgrade_required,
                                              "this is a WebSocket endpoint; connect with a WebSocket client",
                                              req.version(), req.keep_alive());
        if (!keep) co_return;
        continue;
      }
      if (room->empty()) {
        spdlog::info("ws upgrade from {} refused: invalid room name in {}", peer_, path);
        co_await send_error(http::status::bad_request,
                            "invalid room name: use 1-64 characters from A-Z a-z 0-9 . _ -", req.version(), false);
        co_return;
      }
      if (!is_valid_websocket_key(req[http::field::sec_websocket_key])) {
        spdlog::info("ws upgrade from {} refused: missing or malformed Sec-WebSocket-Key", peer_);
        co_await send_error(http::status::bad_request, "missing or malformed Sec-WebSocket-Key", req.version(), false);
        co_return;
      }
      upgrade(parser, std::move(*room));
      co_return;
    }

    bool keep = false;
    if (get_or_head) {
      keep = co_await serve_file(req);
    } else {
      auto res = text_response(http::status::method_not_allowed, "method not allowed", req.version(), req.keep_alive());
      res.set(http::field::allow, "GET, HEAD");
      keep = co_await send(std::move(res));
    }
    if (!keep) {
      boost::system::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
  }
}

} // namespace

void start_http_session(tcp::socket socket, server_state& state) {
  auto executor = socket.get_executor();
  auto connection = std::make_shared<http_connection>(std::move(socket), state);
  asio::co_spawn(executor, [connection]() { return connection->run(); }, [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (std::exception const& ex) {
      spdlog::error("http session failed: {}", ex.what());
    }
  });
}

} // namespace crier
