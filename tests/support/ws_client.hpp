#pragma once
// Test clients over real loopback sockets: a Beast WebSocket client and a raw HTTP exchange.
// Every operation has a timeout, so a test that waits for something that never comes fails
// instead of hanging.

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace crier::test {

using namespace std::chrono_literals;

struct ws_message {
  std::string data;
  bool binary = false;
};

class ws_client {
public:
  ws_client() = default;
  // `subprotocol` is offered in Sec-WebSocket-Protocol when not empty ("crier.v1" for JSON).
  ws_client(std::uint16_t port, std::string const& target, std::string subprotocol = {}) {
    connect(port, target, std::move(subprotocol));
  }

  // Connects and completes the handshake; throws on failure.
  void connect(std::uint16_t port, std::string const& target, std::string subprotocol = {},
               std::chrono::milliseconds timeout = 5s);
  // Returns the handshake error instead of throwing, and the HTTP response received.
  boost::system::error_code try_connect(std::uint16_t port, std::string const& target,
                                        boost::beast::websocket::response_type& response,
                                        std::string subprotocol = {}, std::chrono::milliseconds timeout = 5s);

  // The handshake response (after connect).
  boost::beast::websocket::response_type const& handshake_response() const { return response_; }

  void send_text(std::string const& text, std::chrono::milliseconds timeout = 5s);
  void send_binary(std::string const& data, std::chrono::milliseconds timeout = 5s);

  // The next message, or the error that ended reading (closed, timeout, ...).
  struct read_result {
    boost::system::error_code ec;
    ws_message message;
  };
  read_result read(std::chrono::milliseconds timeout = 5s);
  // The next message; fails the test (throws) on error.
  ws_message receive(std::chrono::milliseconds timeout = 5s);

  // The close code the server sent, after read() returned websocket::error::closed.
  std::uint16_t close_code() const { return static_cast<std::uint16_t>(ws_.reason().code); }
  std::string close_reason() const { return std::string(ws_.reason().reason.c_str()); }

  void close(std::chrono::milliseconds timeout = 5s);

  boost::beast::websocket::stream<boost::beast::tcp_stream>& stream() { return ws_; }

private:
  template <class Op>
  boost::system::error_code run(Op&& op, std::chrono::milliseconds timeout);

  boost::asio::io_context ioc_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_{ioc_};
  boost::beast::flat_buffer buffer_;
  boost::beast::websocket::response_type response_;
};

// A crier.v1 client: sends and receives JSON objects.
class json_client : public ws_client {
public:
  json_client(std::uint16_t port, std::string const& target) : ws_client(port, target, "crier.v1") {}
  // `subprotocols` is the whole Sec-WebSocket-Protocol offer, crier.v1 among them (a browser's
  // "crier.v1, crier.token.<jwt>").
  json_client(std::uint16_t port, std::string const& target, std::string subprotocols)
    : ws_client(port, target, std::move(subprotocols)) {}
  // The next event; throws when none arrives in time or it is not a JSON object.
  boost::json::object next(std::chrono::milliseconds timeout = 5s);
  // Skips events until one of `type` arrives.
  boost::json::object next_of(std::string_view type, std::chrono::milliseconds timeout = 5s);
  void send_json(std::string const& json) { send_text(json); }
  void say(std::string const& text);
};

// Sends `raw` bytes as they are and reads one HTTP response (or the connection's end).
struct http_result {
  boost::system::error_code ec;
  boost::beast::http::response<boost::beast::http::string_body> response;
};
http_result http_raw(std::uint16_t port, std::string const& raw, std::chrono::milliseconds timeout = 5s);

// A plain GET of `target`.
http_result http_get(std::uint16_t port, std::string const& target, std::chrono::milliseconds timeout = 5s);

// A request with `headers` ("Name: value" lines' parts) and a body (Content-Length is set).
http_result http_call(std::uint16_t port, std::string const& method, std::string const& target, std::string const& body,
                      std::vector<std::pair<std::string, std::string>> const& headers = {},
                      std::chrono::milliseconds timeout = 5s);

// One WebSocket upgrade to `target` with extra request headers, closed at once: the answer's
// status (101 when it upgraded), its body and the Sec-WebSocket-Protocol it chose.
struct upgrade_answer {
  boost::beast::http::status status;
  std::string body;
  std::string protocol;
};
upgrade_answer try_upgrade(std::uint16_t port, std::string const& target,
                           std::vector<std::pair<boost::beast::http::field, std::string>> const& headers = {});

// The samples of a Prometheus text exposition: name{labels} -> value.
std::map<std::string, double> parse_metrics(std::string const& exposition);
// One scrape of /metrics, parsed.
std::map<std::string, double> scrape_metrics(std::uint16_t port);
// One sample of /metrics, or -1 when it is not there.
double metric(std::uint16_t port, std::string const& name);
// Scrapes until `done(sample)` holds, or `limit` passes: returns the last sample read (-1 when it
// is not there). crier counts a write once the socket has taken it, so a client may read what was
// written just before the counter moves: a check of an out-counter, made after reading, waits.
double metric_once(std::uint16_t port, std::string const& name, std::function<bool(double)> const& done,
                   std::chrono::milliseconds limit = 10s);
// The same until the sample is `value`.
double metric_reaching(std::uint16_t port, std::string const& name, double value, std::chrono::milliseconds limit = 10s);

} // namespace crier::test
