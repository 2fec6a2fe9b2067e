// Hostile or odd inputs that once got through, each on the real binary: what is answered, and
// what reaches the log.
#include "tests/support/crier_process.hpp"
#include "tests/support/raw_ws.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <poll.h>
#include <string>

namespace crier::test {
namespace {

namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;

std::string upgrade_request(std::string const& target, std::string const& extra = {}) {
  return "GET " + target +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
         extra + "\r\n";
}

TEST(edges, room_names_of_dots_only_are_refused) {
  crier_process server;
  for (std::string const target : {"/ws/.", "/ws/..", "/ws/..."}) {
    auto const r = http_raw(server.port(), upgrade_request(target));
    ASSERT_FALSE(r.ec) << target << ": " << r.ec.message();
    EXPECT_EQ(r.response.result(), http::status::bad_request) << target;
    EXPECT_NE(r.response.body().find("invalid room name"), std::string::npos) << r.response.body();
  }
  // A name that merely contains dots is still a room.
  auto const ok = http_raw(server.port(), upgrade_request("/ws/a..b"));
  EXPECT_EQ(ok.response.result(), http::status::switching_protocols);
}

TEST(edges, names_with_bidi_overrides_zero_width_or_line_separators_are_refused) {
  crier_process server;
  // %E2%80%AE is U+202E (right-to-left override), %E2%80%8B U+200B, %E2%80%A8 U+2028.
  for (std::string const name : {"%E2%80%AEnnA", "an%E2%80%8Bn", "ann%E2%80%A8bob"}) {
    auto const r = http_raw(server.port(), upgrade_request("/ws/lobby?name=" + name));
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.response.result(), http::status::bad_request) << name;
    EXPECT_NE(r.response.body().find("invisible"), std::string::npos) << r.response.body();
  }
}

TEST(edges, a_token_parameter_in_any_case_is_redacted_in_the_debug_log) {
  crier_process server({"--log-level", "debug"});
  http_get(server.port(), "/nope?TOKEN=upper-secret");
  http_get(server.port(), "/nope?Token=mixed-secret&x=1");
  http_get(server.port(), "/nope?%74oken=encoded-secret");
  server.signal(SIGTERM);
  server.wait_exit();
  auto const log = server.log();
  EXPECT_EQ(log.find("upper-secret"), std::string::npos) << log;
  EXPECT_EQ(log.find("mixed-secret"), std::string::npos) << log;
  EXPECT_EQ(log.find("encoded-secret"), std::string::npos) << log;
  EXPECT_NE(log.find("TOKEN=***"), std::string::npos) << log;
}

TEST(edges, json_log_lines_stay_valid_utf8_json_whatever_the_peer_sends) {
  crier_process server({"--log-format", "json", "--log-level", "debug"});
  // Raw invalid UTF-8 in the Origin header (refused, and logged with the origin) and in the
  // request target (logged at debug).
  auto const refused = http_raw(server.port(), upgrade_request("/ws/lobby", "Origin: http://ev\xff\xfeil.example\r\n"));
  EXPECT_EQ(refused.response.result(), http::status::forbidden);
  http_raw(server.port(), "GET /caf\xc3\x28\xe2\x82?x=\xff HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  ASSERT_TRUE(server.wait_for_line(std::regex("origin not allowed")));
  server.signal(SIGTERM);
  server.wait_exit();
  bool saw_origin = false;
  for (auto const& line : server.lines()) {
    boost::system::error_code ec;
    auto const v = boost::json::parse(line, ec); // Boost.JSON refuses invalid UTF-8 in strings
    ASSERT_FALSE(ec) << "not valid JSON: " << line;
    auto const& o = v.as_object();
    if (o.at("msg") == "ws upgrade refused: origin not allowed") {
      saw_origin = true;
      EXPECT_EQ(o.at("origin"), "http://ev\xef\xbf\xbd\xef\xbf\xbdil.example") << line;
    }
  }
  EXPECT_TRUE(saw_origin) << server.log();
}

TEST(edges, a_since_past_64_bits_is_refused_not_read_as_zero) {
  crier_process server;
  for (std::string const since : {"99999999999999999999999", "18446744073709551616", "-1", "1e3", "0x10"}) {
    auto const r = http_raw(server.port(), upgrade_request("/ws/lobby?since=" + since));
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.response.result(), http::status::bad_request) << since;
    EXPECT_NE(r.response.body().find("invalid since"), std::string::npos) << r.response.body();
  }
  // The largest seq there is still parses.
  auto const max = http_raw(server.port(), upgrade_request("/ws/lobby?since=18446744073709551615"));
  EXPECT_EQ(max.response.result(), http::status::switching_protocols);
}

TEST(edges, the_bearer_scheme_is_case_insensitive) {
  crier_process server({"--auth-token", "s3cret"});
  for (std::string const scheme : {"Bearer", "bearer", "BEARER", "bEaReR"}) {
    auto const r = http_raw(server.port(), upgrade_request("/ws/lobby", "Authorization: " + scheme + " s3cret\r\n"));
    EXPECT_EQ(r.response.result(), http::status::switching_protocols) << scheme;
  }
  // Another scheme, or none, is still refused.
  for (std::string const auth : {"Basic s3cret", "s3cret", "Bearer", "Bearers3cret"}) {
    auto const r = http_raw(server.port(), upgrade_request("/ws/lobby", "Authorization: " + auth + "\r\n"));
    EXPECT_EQ(r.response.result(), http::status::unauthorized) << auth;
  }
}

TEST(edges, an_unknown_transfer_coding_gets_501) {
  crier_process server;
  for (std::string const coding : {"xchunked", "gzip", "chunked, gzip"}) {
    auto const r = http_raw(server.port(), "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: " + coding + "\r\n\r\n");
    ASSERT_FALSE(r.ec) << coding << ": " << r.ec.message();
    EXPECT_EQ(r.response.result(), http::status::not_implemented) << coding;
  }
  // Chunked itself is known: it is a body, and no endpoint takes one.
  auto const chunked = http_raw(server.port(), "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.response.result(), http::status::payload_too_large);
}

TEST(edges, a_refused_oversized_request_is_answered_then_closed_without_a_reset) {
  crier_process server;
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ip::tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  // 16 KiB of headers: the server refuses at 8 KiB, with the rest still on its way.
  std::string request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Huge: " + std::string(16 * 1024, 'h') + "\r\n\r\n";
  asio::write(socket, asio::buffer(request));
  std::string response;
  boost::system::error_code ec;
  std::array<char, 4096> chunk;
  // Read until the response is whole (it has no body beyond its short text).
  while (response.find("\r\n\r\n") == std::string::npos || response.find("too large\n") == std::string::npos) {
    pollfd pfd{socket.native_handle(), POLLIN, 0};
    ASSERT_GT(::poll(&pfd, 1, 5000), 0) << "no response; got: " << response;
    auto const n = socket.read_some(asio::buffer(chunk), ec);
    ASSERT_FALSE(ec) << ec.message() << " after: " << response;
    response.append(chunk.data(), n);
  }
  EXPECT_TRUE(response.starts_with("HTTP/1.1 431")) << response;
  // Our end of the stream: the server, having drained what we sent, ends its side cleanly. An
  // abortive close would have reset the connection instead (ECONNRESET here).
  socket.shutdown(asio::ip::tcp::socket::shutdown_send);
  for (;;) {
    pollfd pfd{socket.native_handle(), POLLIN, 0};
    ASSERT_GT(::poll(&pfd, 1, 5000), 0) << "the server did not close";
    socket.read_some(asio::buffer(chunk), ec);
    if (ec) break;
  }
  EXPECT_EQ(ec, asio::error::eof) << ec.message();
}

TEST(edges, a_message_bigger_than_the_queue_bound_is_delivered_not_a_slow_consumer) {
  // --max-message-size above --max-queue-bytes: the message is accepted from the sender, so it
  // must also reach every member, the sender's own echo included.
  crier_process server({"--max-message-size", "16MiB", "--max-queue-bytes", "1MiB"});
  ws_client sender(server.port(), "/ws/big");
  ws_client other(server.port(), "/ws/big");
  std::string const big(3 << 20, 'b');
  sender.send_binary(big, 10s);
  auto const echo = sender.receive(10s);
  auto const got = other.receive(10s);
  EXPECT_EQ(echo.data.size(), big.size());
  EXPECT_EQ(got.data.size(), big.size());
  // Both stay open: a small message after it goes through.
  sender.send_text("after");
  EXPECT_EQ(other.receive().data, "after");
  EXPECT_EQ(sender.receive().data, "after");
  auto const metrics = http_get(server.port(), "/metrics").response.body();
  EXPECT_NE(metrics.find("crier_slow_consumer_closes_total 0\n"), std::string::npos) << metrics;
}

TEST(edges, a_raw_resume_replays_what_fits_the_queue_instead_of_closing_the_member) {
  // --history 10 of 400 KiB messages is 4 MiB of history behind a 1 MiB queue: replaying all of
  // it would close the resuming member as a slow consumer before it read anything.
  crier_process server({"--max-message-size", "1MiB", "--max-queue-bytes", "1MiB", "--history", "10"});
  {
    ws_client sender(server.port(), "/ws/replay");
    for (int i = 1; i <= 10; ++i) {
      sender.send_text(std::to_string(i) + ":" + std::string(400 << 10, 'r'));
      sender.receive(10s);
    }
  }
  ws_client late(server.port(), "/ws/replay?since=0");
  // The newest that fit half the queue (the other half is for live traffic): message 10 alone
  // (400 KiB of 512).
  EXPECT_TRUE(late.receive(10s).data.starts_with("10:"));
  late.send_text("still here");
  EXPECT_EQ(late.receive().data, "still here");
}

TEST(edges, messages_read_before_a_bad_frame_are_echoed_before_the_close) {
  // Valid messages, then a frame with a reserved opcode (1002) or one over --max-message-size
  // (1009), in one write: the server reads the messages (and publishes them) before it meets the
  // bad frame. Their echoes are queued for the sender when Beast fails the connection; they go
  // out first, then the close.
  crier_process server({"--max-message-size", "4KiB"});
  ws_client other(server.port(), "/ws/flush");
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    raw_ws bad(server.port(), "/ws/flush");
    std::vector<out_frame> frames;
    int const valid = 1 + round * 5; // 1 to 96 messages ahead of the bad frame
    for (int i = 0; i < valid; ++i) frames.push_back({ws_op::text, "m" + std::to_string(round) + "." + std::to_string(i)});
    bool const too_big = round % 2 == 1;
    if (too_big) frames.push_back({ws_op::text, std::string(5000, 'x')});
    else frames.push_back({0x3, "reserved opcode"});
    bad.send_all(frames);
    for (int i = 0; i < valid; ++i) {
      auto const r = bad.read_frame();
      ASSERT_EQ(r.status, raw_ws::read_status::frame) << "echo " << i << " missing: " << r.ec.message();
      ASSERT_EQ(r.frame.opcode, ws_op::text) << "echo " << i << " missing, got opcode " << int{r.frame.opcode};
      EXPECT_EQ(r.frame.payload, "m" + std::to_string(round) + "." + std::to_string(i));
    }
    auto const r = bad.read_frame();
    ASSERT_EQ(r.status, raw_ws::read_status::frame);
    ASSERT_EQ(r.frame.opcode, ws_op::close);
    EXPECT_EQ(r.frame.close_code(), too_big ? 1009 : 1002);
    EXPECT_TRUE(bad.wait_tcp_close(5s));
    for (int i = 0; i < valid; ++i) other.receive();
  }
}

TEST(edges, a_welcome_whose_history_exceeds_the_queue_does_not_close_the_joiner) {
  // --history 10 of 300 KiB messages is 3 MiB of history behind a 1 MiB queue. A crier.v1
  // member's welcome carries history; if it carried all of it, the next message in the room
  // would find the joiner's queue over its bound while the welcome is still being written, and
  // close the joiner as a slow consumer. The welcome carries the newest that fit; the rest is paged.
  crier_process server({"--max-message-size", "1MiB", "--max-queue-bytes", "1MiB", "--history", "10"});
  ws_client sender(server.port(), "/ws/welcome");
  for (int i = 1; i <= 10; ++i) {
    sender.send_text(std::to_string(i) + ":" + std::string(300 << 10, 'w'));
    sender.receive(10s);
  }
  json_client joiner(server.port(), "/ws/welcome");
  // Traffic right behind the welcome, before the joiner has read anything.
  for (int i = 0; i < 3; ++i) sender.send_text("live " + std::to_string(i) + std::string(200 << 10, 'l'));
  auto const welcome = joiner.next(10s);
  ASSERT_EQ(welcome.at("type"), "welcome");
  auto const& history = welcome.at("history").as_array();
  ASSERT_GE(history.size(), 1U);
  EXPECT_LT(history.size(), 10U);
  EXPECT_EQ(history.back().at("seq"), 10); // the newest
  for (int i = 0; i < 3; ++i) {
    auto const m = joiner.next_of("message", 10s);
    EXPECT_TRUE(std::string_view(m.at("text").as_string()).starts_with("live " + std::to_string(i)));
  }
  // A history page is bounded the same way: asking for all of it answers with what fits.
  joiner.send_json(R"({"type":"history","limit":100})");
  auto const page = joiner.next_of("history", 10s);
  auto const& older = page.at("messages").as_array();
  EXPECT_GE(older.size(), 1U);
  EXPECT_LT(older.size(), 13U);
  auto const metrics = http_get(server.port(), "/metrics").response.body();
  EXPECT_NE(metrics.find("crier_slow_consumer_closes_total 0\n"), std::string::npos) << metrics;
}

TEST(edges, a_burst_the_rate_limit_allows_is_not_a_slow_consumer_for_its_sender) {
  // A burst of 1,000 messages in one write, which --rate-burst allows, against a queue bound of
  // 100 messages: the sender reads its echoes as fast as they come, so it must not be closed.
  crier_process server({"--rate-limit", "10", "--rate-burst", "1000", "--max-queue-messages", "100"});
  ws_client other(server.port(), "/ws/burst");
  raw_ws sender(server.port(), "/ws/burst");
  std::vector<out_frame> frames;
  for (int i = 0; i < 1000; ++i) frames.push_back({ws_op::text, "b" + std::to_string(i)});
  sender.send_all(frames);
  for (int i = 0; i < 1000; ++i) {
    auto const r = sender.read_frame();
    ASSERT_EQ(r.status, raw_ws::read_status::frame) << "echo " << i << ": " << r.ec.message();
    ASSERT_EQ(r.frame.opcode, ws_op::text) << "echo " << i << ": close " << r.frame.close_code().value_or(0) << " "
                                           << r.frame.close_reason();
    EXPECT_EQ(r.frame.payload, "b" + std::to_string(i));
  }
}

} // namespace
} // namespace crier::test
