// Churn and exhaustion on the real binary: 1,000 connections opening and closing at once across
// rooms (leaks show under ASan as a failed exit, races under TSan), and running out of file
// descriptors on accept, which must log once, back off and recover.
#include "tests/support/crier_process.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <memory>

namespace crier::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

TEST(churn, a_thousand_connections_open_and_close_concurrently_across_rooms) {
  crier_process server({"--threads", "2"});
  asio::io_context ioc;
  auto const ep = tcp::endpoint{asio::ip::make_address("127.0.0.1"), server.port()};
  int completed = 0, failed = 0;
  auto client = [&](int i) -> asio::awaitable<void> {
    websocket::stream<beast::tcp_stream> ws(co_await asio::this_coro::executor);
    beast::get_lowest_layer(ws).expires_after(std::chrono::seconds(30));
    auto [ec] = co_await beast::get_lowest_layer(ws).async_connect(ep, nothrow);
    if (!ec) std::tie(ec) = co_await ws.async_handshake("127.0.0.1", "/ws/churn" + std::to_string(i % 17), nothrow);
    std::string const mine = "client " + std::to_string(i);
    if (!ec) std::tie(ec, std::ignore) = co_await ws.async_write(asio::buffer(mine), nothrow);
    beast::flat_buffer buffer;
    // Read until the client's own message comes back (others in its room may come first).
    while (!ec) {
      std::tie(ec, std::ignore) = co_await ws.async_read(buffer, nothrow);
      if (!ec && beast::buffers_to_string(buffer.data()) == mine) break;
      buffer.consume(buffer.size());
    }
    if (!ec) std::tie(ec) = co_await ws.async_close(websocket::close_code::normal, nothrow);
    ++(ec ? failed : completed);
  };
  for (int i = 0; i < 1000; ++i) asio::co_spawn(ioc, client(i), asio::detached);
  ioc.run();
  EXPECT_EQ(completed, 1000);
  EXPECT_EQ(failed, 0);
  // Every session ends, and the server shuts down cleanly (under ASan, a leak fails the exit).
  auto const deadline = std::chrono::steady_clock::now() + 10s;
  while (http_get(server.port(), "/metrics").response.body().find("crier_connections 0\n") == std::string::npos)
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "sessions outlived their connections";
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(20s), 0) << server.log().substr(0, 4000);
}

TEST(churn, running_out_of_descriptors_logs_once_backs_off_and_recovers) {
  // Room for the server's own descriptors and a handful of connections only.
  crier_process server({"--threads", "1"}, {.max_open_files = 32});
  asio::io_context ioc;
  std::vector<std::unique_ptr<tcp::socket>> hogs;
  for (int i = 0; i < 60; ++i) {
    auto s = std::make_unique<tcp::socket>(ioc);
    s->connect({asio::ip::make_address("127.0.0.1"), server.port()}); // the kernel's backlog accepts them
    hogs.push_back(std::move(s));
  }
  ASSERT_TRUE(server.wait_for_line(std::regex("accept failed: backing off"), 10s)) << server.log();
  // Free the descriptors: the server recovers and serves again.
  hogs.clear();
  EXPECT_TRUE(server.wait_for_line(std::regex("accepting connections again"), 10s)) << server.log();
  auto const deadline = std::chrono::steady_clock::now() + 10s;
  while (http_get(server.port(), "/healthz", 2s).response.result() != boost::beast::http::status::ok)
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
  EXPECT_EQ(http_get(server.port(), "/metrics").response.body().find("crier_accept_errors_total 0\n"),
            std::string::npos);
  auto const lines = server.lines();
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                          [](auto const& l) { return l.find("accept failed") != std::string::npos; }),
            1)
    << "logged more than once:\n" << server.log();
}

} // namespace
} // namespace crier::test
