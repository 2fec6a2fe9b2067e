// Bounds and policies on the real binary: a stalled reader is contained (closed or dropped per
// --slow-consumer) in bounded memory while the others get every message; the rate limit, the
// connection limit, the room limit, the idle timeout and the handshake timeout.
#include "tests/support/crier_process.hpp"
#include "tests/support/proc_stats.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/error.hpp>
#include <gtest/gtest.h>

#include <memory>

namespace crier::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using ws_stream = websocket::stream<beast::tcp_stream>;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

// The scenario of a stalled reader: a sender pushes `total` bytes in `size`-byte messages into a
// room with a receiver that reads everything and a client that never reads at all. The sender
// reads its own echoes concurrently, as a real client would.
struct stall_result {
  std::size_t sent = 0;
  std::size_t received = 0;      // by the healthy receiver
  std::size_t sender_echoes = 0; // by the sender itself
  bool in_order = true;
  std::uint64_t peak_rss = 0;
};

stall_result run_stall(crier_process& server, std::size_t total, std::size_t size) {
  asio::io_context ioc;
  auto const ep = tcp::endpoint{asio::ip::make_address("127.0.0.1"), server.port()};
  auto connect = [&](ws_stream& ws, bool small_buffers) {
    beast::get_lowest_layer(ws).connect(ep);
    if (small_buffers) beast::get_lowest_layer(ws).socket().set_option(asio::socket_base::receive_buffer_size(4096));
    ws.handshake("127.0.0.1", "/ws/stall");
  };
  ws_stream sender(ioc), receiver(ioc), stalled(ioc);
  connect(stalled, true); // never reads: its kernel buffer fills at once
  connect(receiver, false);
  connect(sender, false);

  stall_result r;
  std::size_t const count = total / size;
  std::string payload(size, 'x');
  auto const stamp = [&](std::size_t i) {
    auto const s = std::to_string(i);
    std::copy(s.begin(), s.end(), payload.begin());
    payload[s.size()] = ':';
  };
  // The sender stays at most `window` messages ahead of the slower of the two readers, as a
  // well-behaved client would; only the stalled client falls behind.
  constexpr std::size_t window = 4;
  asio::steady_timer progress(ioc, asio::steady_timer::time_point::max());
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    sender.binary(true);
    for (std::size_t i = 0; i < count; ++i) {
      while (r.sent - std::min(r.received, r.sender_echoes) >= window) {
        progress.expires_at(asio::steady_timer::time_point::max());
        co_await progress.async_wait(nothrow);
      }
      stamp(i);
      auto [ec, n] = co_await sender.async_write(asio::buffer(payload), nothrow);
      if (ec) co_return;
      ++r.sent;
    }
  }, asio::detached);
  auto reader = [&](ws_stream& ws, std::size_t& counter, bool check) -> asio::awaitable<void> {
    beast::flat_buffer buffer;
    for (std::size_t i = 0; i < count; ++i) {
      beast::get_lowest_layer(ws).expires_after(std::chrono::seconds(20));
      auto [ec, n] = co_await ws.async_read(buffer, nothrow);
      if (ec) co_return;
      if (check) {
        auto const data = beast::buffers_to_string(buffer.data());
        if (data.substr(0, data.find(':')) != std::to_string(i)) r.in_order = false;
      }
      buffer.consume(n);
      ++counter;
      progress.cancel();
      if (i % 64 == 0) r.peak_rss = std::max(r.peak_rss, rss_bytes(server.pid()));
    }
  };
  asio::co_spawn(ioc, reader(receiver, r.received, true), asio::detached);
  asio::co_spawn(ioc, reader(sender, r.sender_echoes, false), asio::detached);
  ioc.run();
  r.peak_rss = std::max(r.peak_rss, rss_bytes(server.pid()));
  return r;
}

TEST(bounds, a_stalled_reader_is_closed_and_memory_stays_bounded) {
  constexpr std::size_t queue_bytes = 1 << 20;
  crier_process server({"--max-message-size", "128KiB", "--max-queue-bytes", "1MiB", "--max-queue-messages", "100000",
                        "--close-timeout", "1s"});
  auto const baseline = rss_bytes(server.pid());
  auto const r = run_stall(server, 64 << 20, 64 << 10); // 64 MiB in 64 KiB messages
  EXPECT_EQ(r.sent, 1024U);
  EXPECT_EQ(r.received, 1024U) << "the healthy member missed messages\n" << server.log();
  EXPECT_EQ(r.sender_echoes, 1024U);
  EXPECT_TRUE(r.in_order);
  EXPECT_TRUE(server.wait_for_line(std::regex("slow consumer"), 5s)) << server.log();
  // The log gives the reason the close frame gave.
  EXPECT_TRUE(server.wait_for_line(std::regex(R"(ws close .*code=1008 reason="slow consumer")"), 5s)) << server.log();
  // The stalled session is gone: its slot is free and the close was counted.
  auto const metrics = http_get(server.port(), "/metrics").response.body();
  EXPECT_NE(metrics.find("crier_slow_consumer_closes_total 1\n"), std::string::npos) << metrics;
  if (!built_with_asan()) {
    // Unbounded, the stalled queue alone would hold 64 MiB. Bounded: its queue, the healthy
    // members' in-flight messages, and allocator slack.
    auto const bound = baseline + 2 * queue_bytes + (24 << 20);
    EXPECT_LT(r.peak_rss, bound) << "peak RSS " << (r.peak_rss >> 20) << " MiB, baseline " << (baseline >> 20) << " MiB";
  }
}

TEST(bounds, drop_oldest_keeps_a_stalled_reader_connected_and_counts_drops) {
  crier_process server({"--max-message-size", "128KiB", "--max-queue-bytes", "1MiB", "--max-queue-messages", "100000",
                        "--slow-consumer", "drop-oldest"});
  auto const baseline = rss_bytes(server.pid());
  auto const r = run_stall(server, 32 << 20, 64 << 10);
  EXPECT_EQ(r.received, 512U);
  EXPECT_EQ(r.sender_echoes, 512U);
  EXPECT_TRUE(r.in_order);
  auto const metrics = http_get(server.port(), "/metrics").response.body();
  EXPECT_NE(metrics.find("crier_slow_consumer_closes_total 0\n"), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("crier_slow_consumer_dropped_total 0\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("crier_closes_total{code=\"1008\"} 0\n"), std::string::npos) << "dropped from, not closed";
  if (!built_with_asan()) {
    EXPECT_LT(r.peak_rss, baseline + (26 << 20));
  }
}

TEST(bounds, rate_limit_closes_with_1008_past_the_burst) {
  crier_process server({"--rate-limit", "1", "--rate-burst", "3"});
  ws_client c(server.port(), "/ws/rate");
  for (int i = 0; i < 5; ++i) c.send_text("m" + std::to_string(i));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c.receive().data, "m" + std::to_string(i));
  auto const r = c.read();
  EXPECT_EQ(r.ec, websocket::error::closed) << r.ec.message();
  EXPECT_EQ(c.close_code(), 1008);
  EXPECT_EQ(c.close_reason(), "rate limit exceeded");
  EXPECT_TRUE(server.wait_for_line(std::regex("rate limit exceeded"), 5s));
}

TEST(bounds, rate_limit_drop_answers_json_clients_with_errors) {
  crier_process server({"--rate-limit", "1", "--rate-burst", "2", "--rate-limit-action", "drop"});
  json_client c(server.port(), "/ws/rate");
  c.next();
  for (int i = 0; i < 4; ++i) c.say("m" + std::to_string(i));
  EXPECT_EQ(c.next().at("text"), "m0");
  EXPECT_EQ(c.next().at("text"), "m1");
  auto e = c.next();
  EXPECT_EQ(e.at("type"), "error");
  EXPECT_EQ(e.at("code"), "rate_limited");
  EXPECT_EQ(c.next().at("code"), "rate_limited");
  auto const metrics = http_get(server.port(), "/metrics").response.body();
  EXPECT_NE(metrics.find("crier_rate_limited_total 2\n"), std::string::npos) << metrics;
}

TEST(bounds, connection_limit_gives_503_and_plain_http_still_works) {
  crier_process server({"--max-connections", "2"});
  ws_client a(server.port(), "/ws"), b(server.port(), "/ws");
  ws_client c;
  websocket::response_type response;
  EXPECT_TRUE(c.try_connect(server.port(), "/ws", response));
  EXPECT_EQ(response.result(), http::status::service_unavailable);
  EXPECT_EQ(http_get(server.port(), "/").response.result(), http::status::ok);
  EXPECT_TRUE(server.wait_for_line(std::regex("connection limit reached"), 5s));
  // A slot frees up when a session ends.
  a.close();
  // The slot is free once the session is gone; readiness, not a sleep: poll the gauge.
  auto const deadline = std::chrono::steady_clock::now() + 5s;
  while (http_get(server.port(), "/metrics").response.body().find("crier_connections 1\n") == std::string::npos) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the closed session's slot was never freed";
  }
  ws_client d(server.port(), "/ws");
  d.send_text("in");
  EXPECT_EQ(d.receive().data, "in");
}

TEST(bounds, room_limit_gives_503_for_a_new_room_only) {
  crier_process server({"--max-rooms", "2", "--history", "0"});
  ws_client a(server.port(), "/ws/one"), b(server.port(), "/ws/two");
  ws_client c;
  websocket::response_type response;
  EXPECT_TRUE(c.try_connect(server.port(), "/ws/three", response));
  EXPECT_EQ(response.result(), http::status::service_unavailable);
  ws_client d(server.port(), "/ws/one"); // an existing room is fine
  d.send_text("ok");
  EXPECT_EQ(a.receive().data, "ok");
}

TEST(bounds, a_peer_that_never_answers_pings_is_closed_at_the_idle_timeout) {
  crier_process server({"--ping-interval", "200ms", "--idle-timeout", "600ms", "--close-timeout", "300ms"});
  ws_client silent(server.port(), "/ws/idle"); // never reads, so never answers a ping
  ws_client lively(server.port(), "/ws/idle");
  // The lively client reads (and so answers pings) for a while; the silent one is cut off.
  auto const r = lively.read(1500ms);
  EXPECT_EQ(r.ec, beast::error::timeout); // nothing arrived, but the connection stayed up
  EXPECT_TRUE(server.wait_for_line(std::regex("ws idle timeout"), 5s)) << server.log();
  auto const lines = server.lines();
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                          [](auto const& l) { return l.find("ws idle timeout") != std::string::npos; }),
            1)
    << "only the silent client times out:\n"
    << server.log();
  EXPECT_NE(http_get(server.port(), "/metrics").response.body().find("crier_timeouts_total{kind=\"idle\"} 1\n"),
            std::string::npos);
}

TEST(bounds, a_slow_http_client_is_dropped_at_the_handshake_timeout) {
  crier_process server({"--handshake-timeout", "300ms"});
  asio::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  // Slowloris: a request line and one header, then nothing.
  asio::write(socket, asio::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\n")));
  auto const start = std::chrono::steady_clock::now();
  char byte;
  boost::system::error_code ec;
  socket.read_some(asio::buffer(&byte, 1), ec); // blocks until the server gives up
  EXPECT_EQ(ec, asio::error::eof) << ec.message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(http_get(server.port(), "/healthz").response.result(), http::status::ok);
  EXPECT_TRUE(server.wait_for_line(std::regex("http request timed out"), 5s));
  EXPECT_NE(http_get(server.port(), "/metrics").response.body().find("crier_timeouts_total{kind=\"handshake\"} 1\n"),
            std::string::npos);
}

} // namespace
} // namespace crier::test
