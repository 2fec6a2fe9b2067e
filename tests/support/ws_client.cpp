#include "tests/support/ws_client.hpp"

#include <sstream>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <stdexcept>
#include <thread>

namespace crier::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Runs one asynchronous operation to completion under a deadline. tcp_stream's expiry closes the
// socket when the deadline passes, so the operation always completes.
template <class Op>
boost::system::error_code ws_client::run(Op&& op, std::chrono::milliseconds timeout) {
  beast::get_lowest_layer(ws_).expires_after(timeout);
  std::optional<boost::system::error_code> result;
  op([&](boost::system::error_code ec, auto&&...) { result = ec; });
  ioc_.restart();
  while (!result && ioc_.run_one() > 0) {
  }
  beast::get_lowest_layer(ws_).expires_never();
  return result.value_or(asio::error::timed_out);
}

boost::system::error_code ws_client::try_connect(std::uint16_t port, std::string const& target,
                                                 websocket::response_type& response, std::string subprotocol,
                                                 std::chrono::milliseconds timeout) {
  if (!subprotocol.empty()) {
    ws_.set_option(websocket::stream_base::decorator([subprotocol](websocket::request_type& req) {
      req.set(http::field::sec_websocket_protocol, subprotocol);
    }));
  }
  tcp::endpoint const ep{asio::ip::make_address("127.0.0.1"), port};
  auto ec = run([&](auto h) { beast::get_lowest_layer(ws_).async_connect(ep, h); }, timeout);
  if (ec) return ec;
  beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true));
  auto const host = "127.0.0.1:" + std::to_string(port);
  return run([&](auto h) { ws_.async_handshake(response, host, target, h); }, timeout);
}

void ws_client::connect(std::uint16_t port, std::string const& target, std::string subprotocol,
                        std::chrono::milliseconds timeout) {
  auto ec = try_connect(port, target, response_, std::move(subprotocol), timeout);
  if (ec) throw std::runtime_error("WebSocket connect to " + target + " failed: " + ec.message());
}

void ws_client::send_text(std::string const& text, std::chrono::milliseconds timeout) {
  ws_.text(true);
  auto ec = run([&](auto h) { ws_.async_write(asio::buffer(text), h); }, timeout);
  if (ec) throw std::runtime_error("send failed: " + ec.message());
}

void ws_client::send_binary(std::string const& data, std::chrono::milliseconds timeout) {
  ws_.binary(true);
  auto ec = run([&](auto h) { ws_.async_write(asio::buffer(data), h); }, timeout);
  if (ec) throw std::runtime_error("send failed: " + ec.message());
}

ws_client::read_result ws_client::read(std::chrono::milliseconds timeout) {
  read_result r;
  r.ec = run([&](auto h) { ws_.async_read(buffer_, h); }, timeout);
  if (!r.ec) {
    r.message.data = beast::buffers_to_string(buffer_.data());
    r.message.binary = ws_.got_binary();
    buffer_.consume(buffer_.size());
  }
  return r;
}

ws_message ws_client::receive(std::chrono::milliseconds timeout) {
  auto r = read(timeout);
  if (r.ec) throw std::runtime_error("receive failed: " + r.ec.message());
  return r.message;
}

void ws_client::close(std::chrono::milliseconds timeout) {
  run([&](auto h) { ws_.async_close(websocket::close_code::normal, h); }, timeout);
}

boost::json::object json_client::next(std::chrono::milliseconds timeout) {
  auto const m = receive(timeout);
  if (m.binary) throw std::runtime_error("expected a JSON event, got a binary message");
  auto v = boost::json::parse(m.data);
  if (!v.is_object()) throw std::runtime_error("expected a JSON object: " + m.data);
  return std::move(v.as_object());
}

boost::json::object json_client::next_of(std::string_view type, std::chrono::milliseconds timeout) {
  auto const deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto e = next(std::max(left, std::chrono::milliseconds(1)));
    if (e.at("type").as_string() == type) return e;
  }
}

void json_client::say(std::string const& text) {
  boost::json::object o;
  o["type"] = "message";
  o["text"] = text;
  send_text(boost::json::serialize(o));
}

http_result http_raw(std::uint16_t port, std::string const& raw, std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  http_result result;
  beast::flat_buffer buffer;
  stream.expires_after(timeout);
  stream.async_connect(tcp::endpoint{asio::ip::make_address("127.0.0.1"), port},
                       [&](boost::system::error_code ec) {
                         if (ec) {
                           result.ec = ec;
                           return;
                         }
                         asio::async_write(stream, asio::buffer(raw), [&](boost::system::error_code wec, std::size_t) {
                           if (wec) {
                             result.ec = wec;
                             return;
                           }
                           http::async_read(stream, buffer, result.response,
                                            [&](boost::system::error_code rec, std::size_t) { result.ec = rec; });
                         });
                       });
  ioc.run();
  return result;
}

http_result http_get(std::uint16_t port, std::string const& target, std::chrono::milliseconds timeout) {
  return http_raw(port, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", timeout);
}

http_result http_call(std::uint16_t port, std::string const& method, std::string const& target, std::string const& body,
                      std::vector<std::pair<std::string, std::string>> const& headers, std::chrono::milliseconds timeout) {
  std::string raw = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (auto const& [name, value] : headers) raw += name + ": " + value + "\r\n";
  raw += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return http_raw(port, raw, timeout);
}

upgrade_answer try_upgrade(std::uint16_t port, std::string const& target,
                           std::vector<std::pair<http::field, std::string>> const& headers) {
  ws_client c;
  c.stream().set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
    for (auto const& [f, v] : headers) req.set(f, v);
  }));
  websocket::response_type response;
  auto const ec = c.try_connect(port, target, response);
  return {ec ? response.result() : http::status::switching_protocols, response.body(),
          std::string(response[http::field::sec_websocket_protocol])};
}

std::map<std::string, double> scrape_metrics(std::uint16_t port) { return parse_metrics(http_get(port, "/metrics").response.body()); }

double metric(std::uint16_t port, std::string const& name) {
  auto const m = scrape_metrics(port);
  auto const it = m.find(name);
  return it == m.end() ? -1 : it->second;
}

double metric_once(std::uint16_t port, std::string const& name, std::function<bool(double)> const& done,
                   std::chrono::milliseconds limit) {
  auto const deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto const v = metric(port, name);
    if (done(v) || std::chrono::steady_clock::now() >= deadline) return v;
    std::this_thread::sleep_for(std::chrono::milliseconds(10)); // polling interval, not synchronisation
  }
}

double metric_reaching(std::uint16_t port, std::string const& name, double value, std::chrono::milliseconds limit) {
  return metric_once(port, name, [value](double v) { return v == value; }, limit);
}

std::map<std::string, double> parse_metrics(std::string const& exposition) {
  std::map<std::string, double> out;
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto const space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

} // namespace crier::test
