// Parking (--park-after): a quiet plain connection lets Beast's WebSocket stream go and keeps only
// its socket, its queue and its wait for readability; the session makes a new stream, open from
// the start, before Beast has anything to do again. These tests park connections (the
// crier_parked_connections gauge says when) and then make every kind of thing happen to them:
// messages to deliver, a message to read (whole, cut across writes, several in one write), the
// peer's ping, the server's pings and their pongs, closes by the peer, by a protocol error, by
// the idle timeout and by a shutdown. Each must go as it goes for a connection that never parked.
#include "tests/support/crier_process.hpp"
#include "tests/support/raw_ws.hpp"
#include "tests/support/ws_client.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <regex>

namespace crier::test {
namespace {

double parked(std::uint16_t port) { return metric(port, "crier_parked_connections"); }

// Polls the gauge until it reads `n`; false when it does not within the timeout.
bool wait_parked(std::uint16_t port, double n, std::chrono::milliseconds timeout = 5s) {
  return metric_reaching(port, "crier_parked_connections", n, timeout) == n;
}

out_frame text(std::string payload, bool fin = true) { return {ws_op::text, std::move(payload), fin}; }

// The next frame, which must be a text frame; its payload.
std::string next_text(raw_ws& c) {
  auto const r = c.read_frame();
  EXPECT_EQ(r.status, raw_ws::read_status::frame) << r.ec.message();
  EXPECT_EQ(r.frame.opcode, ws_op::text);
  return r.frame.payload;
}

// The next frame, which must be a close frame; its code.
std::optional<std::uint16_t> next_close(raw_ws& c, std::chrono::milliseconds timeout = 5s) {
  auto const r = c.read_frame(timeout);
  EXPECT_EQ(r.status, raw_ws::read_status::frame) << r.ec.message();
  EXPECT_EQ(r.frame.opcode, ws_op::close) << r.frame.payload;
  return r.frame.close_code();
}

TEST(parking, quiet_connections_park_and_every_message_still_reaches_them) {
  crier_process server({"--park-after", "50ms"});
  std::vector<std::unique_ptr<raw_ws>> receivers;
  for (int i = 0; i < 10; ++i) receivers.push_back(std::make_unique<raw_ws>(server.port(), "/ws/park"));
  ASSERT_TRUE(wait_parked(server.port(), 10)) << parked(server.port());
  ws_client speaker(server.port(), "/ws/park");
  constexpr int messages = 200;
  for (int m = 0; m < messages; ++m) speaker.send_text("m" + std::to_string(m));
  for (int m = 0; m < messages; ++m) EXPECT_EQ(speaker.receive().data, "m" + std::to_string(m));
  for (std::size_t i = 0; i < receivers.size(); ++i) {
    for (int m = 0; m < messages; ++m) ASSERT_EQ(next_text(*receivers[i]), "m" + std::to_string(m)) << "receiver " << i;
  }
  // Deliveries do not need the stream: the receivers stayed parked, and the speaker parks too
  // once it is quiet.
  EXPECT_TRUE(wait_parked(server.port(), 11)) << parked(server.port());
  EXPECT_FALSE(server.wait_for_line(std::regex("could not reopen"), 0ms).has_value()) << server.log();
}

TEST(parking, a_parked_connection_reads_again_through_a_new_stream) {
  crier_process server({"--park-after", "20ms"});
  ws_client listener(server.port(), "/ws/park");
  raw_ws talker(server.port(), "/ws/park");
  ASSERT_TRUE(wait_parked(server.port(), 2));
  // A text message cut across two writes: the first fragment wakes the session, the second
  // arrives while Beast is reading.
  talker.send(text("hel", false));
  talker.send({ws_op::cont, "lo"});
  EXPECT_EQ(listener.receive().data, "hello");
  EXPECT_EQ(next_text(talker), "hello"); // its own echo
  // The listener's read keeps its stream busy; the talker parks again.
  ASSERT_TRUE(wait_parked(server.port(), 1));
  // The peer's ping: Beast answers it from the new stream.
  talker.send({ws_op::ping, "are you there"});
  auto const pong = talker.read_frame();
  ASSERT_EQ(pong.status, raw_ws::read_status::frame);
  EXPECT_EQ(pong.frame.opcode, ws_op::pong);
  EXPECT_EQ(pong.frame.payload, "are you there");
  ASSERT_TRUE(wait_parked(server.port(), 1));
  // Several messages in one write, a binary one among them.
  talker.send_all({text("a"), {ws_op::binary, std::string("\0\1\2", 3)}, text("c")});
  EXPECT_EQ(listener.receive().data, "a");
  auto const binary = listener.receive();
  EXPECT_TRUE(binary.binary);
  EXPECT_EQ(binary.data, std::string("\0\1\2", 3));
  EXPECT_EQ(listener.receive().data, "c");
  // A message over --max-message-size (64 KiB by default) to a reopened stream: Beast's limit
  // holds there too (1009).
  ASSERT_TRUE(wait_parked(server.port(), 1));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(talker.read_frame().status, raw_ws::read_status::frame); // a, binary, c
  talker.send(text(std::string(70 * 1024, 'x')));
  EXPECT_EQ(next_close(talker), 1009);
}

TEST(parking, pings_reach_a_parked_connection_and_its_pongs_keep_it_alive) {
  // Pings every 100 ms and an idle timeout of 400 ms: the connection parks between pings, each
  // ping needs a new stream, and a pong that went unnoticed would close it within half a second.
  crier_process server({"--park-after", "20ms", "--ping-interval", "100ms", "--idle-timeout", "400ms"});
  // Pongs the idle wait swallows, as a browser's answers to crier's empty pings are. (A longer
  // pong, or a ping of the peer's own, is Beast's to read: the session then keeps its stream
  // until the next message, as test_idle's connections show.)
  std::vector<std::string> const payloads = {"", "a"};
  std::vector<std::unique_ptr<raw_ws>> clients;
  for (std::size_t i = 0; i < payloads.size(); ++i) clients.push_back(std::make_unique<raw_ws>(server.port(), "/ws/ping"));
  ASSERT_TRUE(wait_parked(server.port(), 2));
  for (int round = 0; round < 8; ++round) {
    for (std::size_t i = 0; i < clients.size(); ++i) {
      auto const r = clients[i]->read_frame(2s);
      ASSERT_EQ(r.status, raw_ws::read_status::frame) << "client " << i << ": " << r.ec.message();
      ASSERT_EQ(r.frame.opcode, ws_op::ping) << "client " << i << " in round " << round;
      clients[i]->send({ws_op::pong, payloads[i]});
    }
  }
  ASSERT_TRUE(wait_parked(server.port(), 2));
  ws_client speaker(server.port(), "/ws/ping");
  speaker.send_text("still here");
  for (std::size_t i = 0; i < clients.size(); ++i) {
    for (;;) {
      auto const r = clients[i]->read_frame(2s);
      ASSERT_EQ(r.status, raw_ws::read_status::frame) << "client " << i;
      if (r.frame.opcode == ws_op::ping) {
        clients[i]->send({ws_op::pong, payloads[i]});
        continue;
      }
      EXPECT_EQ(r.frame.opcode, ws_op::text);
      EXPECT_EQ(r.frame.payload, "still here");
      break;
    }
  }
  EXPECT_FALSE(server.wait_for_line(std::regex("ws idle timeout"), 0ms).has_value()) << server.log();
}

TEST(parking, a_parked_connection_closes_as_any_other_would) {
  crier_process server({"--park-after", "20ms"});
  raw_ws by_peer(server.port(), "/ws/close");
  raw_ws by_error(server.port(), "/ws/close");
  raw_ws by_shutdown(server.port(), "/ws/close");
  ASSERT_TRUE(wait_parked(server.port(), 3));
  // The peer's close: answered with the same code, then the TCP close.
  by_peer.send({ws_op::close, close_payload(4001, "bye")});
  EXPECT_EQ(next_close(by_peer), 4001);
  by_peer.close_tcp();
  // A reserved opcode: a protocol error, 1002.
  by_error.send({0x3, "?"});
  EXPECT_EQ(next_close(by_error), 1002);
  by_error.send({ws_op::close, close_payload(1002)});
  by_error.close_tcp();
  // The drain: 1001, and the process exits 0.
  ASSERT_TRUE(wait_parked(server.port(), 1));
  server.signal(SIGTERM);
  auto const r = by_shutdown.read_frame();
  ASSERT_EQ(r.status, raw_ws::read_status::frame);
  EXPECT_EQ(r.frame.close_code(), 1001);
  EXPECT_EQ(r.frame.close_reason(), "going away");
  by_shutdown.send({ws_op::close, close_payload(1001)});
  EXPECT_EQ(server.wait_exit(), 0) << server.log();
  EXPECT_FALSE(server.wait_for_line(std::regex("could not reopen"), 0ms).has_value()) << server.log();
}

TEST(parking, the_idle_timeout_closes_a_parked_connection_with_1001) {
  crier_process server({"--park-after", "20ms", "--ping-interval", "0", "--idle-timeout", "300ms"});
  raw_ws quiet(server.port(), "/ws/idle");
  ASSERT_TRUE(wait_parked(server.port(), 1));
  auto const r = quiet.read_frame(3s);
  ASSERT_EQ(r.status, raw_ws::read_status::frame) << r.ec.message();
  EXPECT_EQ(r.frame.close_code(), 1001);
  EXPECT_EQ(r.frame.close_reason(), "idle timeout");
  quiet.send({ws_op::close, close_payload(1001)});
  EXPECT_TRUE(quiet.wait_tcp_close());
  EXPECT_TRUE(wait_parked(server.port(), 0));
}

TEST(parking, a_slow_consumer_parked_is_closed_and_the_others_get_everything) {
  // A receiver that stops reading, with a small receive buffer: the server's writes to it stall
  // without its stream, its queue fills past the bound, and the close it decides needs a new
  // stream while the socket is full; the close deadline cuts it. The reader that keeps up parks
  // and gets every message.
  crier_process server({"--park-after", "20ms", "--max-queue-bytes", "64KiB", "--close-timeout", "300ms"});
  raw_ws stalled;
  stalled.connect(server.port(), "/ws/slow", 5s, {}, 4096);
  raw_ws reader(server.port(), "/ws/slow");
  ASSERT_TRUE(wait_parked(server.port(), 2));
  ws_client speaker(server.port(), "/ws/slow");
  std::string const payload(60'000, 's');
  constexpr int messages = 250; // 15 MB: far past the stalled reader's bound and the kernel's buffers
  for (int m = 0; m < messages; ++m) {
    speaker.send_text(payload);
    ASSERT_EQ(next_text(reader), payload) << m;
    EXPECT_EQ(speaker.receive().data, payload);
  }
  EXPECT_TRUE(server.wait_for_line(std::regex("ws slow consumer"), 5s).has_value()) << server.log();
  EXPECT_TRUE(server.wait_for_line(std::regex("ws close .*code=1008"), 5s).has_value()) << server.log();
}

TEST(parking, connections_with_permessage_deflate_keep_their_stream) {
  crier_process server({"--park-after", "20ms"});
  raw_ws deflating;
  deflating.connect(server.port(), "/ws/deflate", 5s, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
  ASSERT_NE(deflating.handshake().field("sec-websocket-extensions").find("permessage-deflate"), std::string::npos);
  // Quiet for longer than the plain one that connects after it: when that one has parked, the
  // deflating one would have too, and has not.
  raw_ws plain(server.port(), "/ws/deflate");
  ASSERT_TRUE(wait_parked(server.port(), 1));
  EXPECT_EQ(parked(server.port()), 1);
}

TEST(parking, park_after_0_keeps_every_stream) {
  // The server's own pings measure the time: three of them is 300 ms, fifteen times --park-after
  // of the other tests.
  crier_process server({"--park-after", "0", "--ping-interval", "100ms"});
  raw_ws quiet(server.port(), "/ws/keep");
  for (int i = 0; i < 3; ++i) {
    auto const r = quiet.read_frame(2s);
    ASSERT_EQ(r.status, raw_ws::read_status::frame);
    ASSERT_EQ(r.frame.opcode, ws_op::ping);
    quiet.send({ws_op::pong, ""});
  }
  EXPECT_EQ(parked(server.port()), 0);
}

} // namespace
} // namespace crier::test
