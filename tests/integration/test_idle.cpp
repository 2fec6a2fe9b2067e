// An idle plain-TCP connection reads nothing through Beast: it waits for readability with a peek,
// answers nothing itself but swallows the pongs to the server's pings, and hands everything else
// to Beast. These tests make the peer do what could trip that up: answer pings with pongs of
// every size while otherwise silent, send several frames in one write, cut a frame across two
// writes, send a malformed pong, and close, and check each time that the session stays in step
// with the byte stream (the right close code, every message delivered once, in order).
#include "tests/support/crier_process.hpp"
#include "tests/support/raw_ws.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/beast/core/error.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <regex>

namespace crier::test {
namespace {

out_frame text(std::string payload, bool fin = true) { return {ws_op::text, std::move(payload), fin}; }
out_frame cont(std::string payload, bool fin = true) { return {ws_op::cont, std::move(payload), fin}; }
out_frame ping(std::string payload) { return {ws_op::ping, std::move(payload)}; }
out_frame pong(std::string payload) { return {ws_op::pong, std::move(payload)}; }

// Reads frames from `c` until a text frame arrives, answering each server ping with a pong made
// by `answer` (the server's pings are empty). Returns the text, or fails.
std::string next_text_answering_pings(raw_ws& c, std::function<out_frame(std::string const&)> const& answer) {
  // Bounded: pings come every 100 ms, so 50 of them without the text is a failure.
  for (int frames = 0; frames < 50; ++frames) {
    auto const r = c.read_frame();
    if (r.status != raw_ws::read_status::frame) {
      ADD_FAILURE() << "no text frame: " << r.ec.message();
      return {};
    }
    if (r.frame.opcode == ws_op::ping) {
      c.send(answer(r.frame.payload));
      continue;
    }
    EXPECT_EQ(r.frame.opcode, ws_op::text);
    return r.frame.payload;
  }
  ADD_FAILURE() << "only pings came";
  return {};
}

TEST(idle, pongs_of_every_size_keep_a_silent_connection_alive_and_in_step) {
  // Pings every 100 ms and an idle timeout of 400 ms: a connection whose pongs went unnoticed
  // would be closed within half a second.
  crier_process server({"--ping-interval", "100ms", "--idle-timeout", "400ms", "--close-timeout", "500ms"});
  // An empty pong (6 bytes: what the idle wait swallows), a 1-byte one (7 bytes, likewise), and
  // longer ones that the idle wait leaves to Beast; each client answers every ping its own way.
  std::vector<std::string> const payloads = {"", "a", "abcde", std::string(125, 'p')};
  std::vector<std::unique_ptr<raw_ws>> clients;
  for (std::size_t i = 0; i < payloads.size(); ++i) clients.push_back(std::make_unique<raw_ws>(server.port(), "/ws/idle"));
  // Each client answers 8 pings (0.8 s: twice the idle timeout), taking turns: the pings come to
  // all of them at the same pace. Then the speaker publishes, and each must receive exactly that
  // as its next message.
  for (int round = 0; round < 8; ++round) {
    for (std::size_t i = 0; i < clients.size(); ++i) {
      auto const r = clients[i]->read_frame(2s);
      ASSERT_EQ(r.status, raw_ws::read_status::frame) << "client " << i << " lost its connection: " << r.ec.message();
      ASSERT_EQ(r.frame.opcode, ws_op::ping) << "client " << i << " in round " << round << ": " << r.frame.payload;
      clients[i]->send(pong(payloads[i]));
    }
  }
  // The speaker comes now: a Beast client answers pings only while it reads.
  ws_client speaker(server.port(), "/ws/idle");
  speaker.send_text("still here?");
  EXPECT_EQ(speaker.receive().data, "still here?"); // its own echo
  auto const answer = [&](std::size_t i) { return [p = payloads[i]](std::string const&) { return pong(p); }; };
  for (std::size_t i = 0; i < clients.size(); ++i)
    EXPECT_EQ(next_text_answering_pings(*clients[i], answer(i)), "still here?") << "client " << i;
  // And each can still talk: its message reaches the speaker whole.
  for (std::size_t i = 0; i < clients.size(); ++i) {
    auto const msg = "from client " + std::to_string(i);
    clients[i]->send(text(msg));
    EXPECT_EQ(speaker.receive().data, msg);
  }
  EXPECT_FALSE(server.wait_for_line(std::regex("ws idle timeout"), std::chrono::milliseconds(0)).has_value()) << server.log();
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(10s), 0) << server.log();
}

TEST(idle, frames_that_arrive_in_one_write_are_all_handled) {
  crier_process server;
  raw_ws c(server.port(), "/ws/burst");
  ws_client listener(server.port(), "/ws/burst");
  // Two messages and a ping together: Beast holds the second message and the ping in its buffer
  // after the first, so the session must keep reading through Beast, not wait on the socket.
  c.send_all({text("one"), text("two"), ping("p")});
  std::vector<std::string> texts;
  bool ponged = false;
  while (texts.size() < 2 || !ponged) {
    auto const r = c.read_frame();
    ASSERT_EQ(r.status, raw_ws::read_status::frame) << r.ec.message();
    if (r.frame.opcode == ws_op::pong) {
      EXPECT_EQ(r.frame.payload, "p");
      ponged = true;
    } else {
      texts.push_back(r.frame.payload);
    }
  }
  EXPECT_EQ(texts, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(listener.receive().data, "one");
  EXPECT_EQ(listener.receive().data, "two");
  // A message and the start of the next one; the rest of it once the first has come back.
  auto const whole = encode_frame(text("second half arrives later"));
  c.write_raw(encode_frame(text("three")) + whole.substr(0, 9));
  ASSERT_EQ(c.read_frame().frame.payload, "three");
  EXPECT_EQ(listener.receive().data, "three");
  c.write_raw(whole.substr(9));
  EXPECT_EQ(c.read_frame().frame.payload, "second half arrives later");
  EXPECT_EQ(listener.receive().data, "second half arrives later");
  // A fragmented message whose pieces come one write at a time, each after the last was read.
  c.send(text("frag", false));
  c.send(cont("men", false));
  c.send(cont("ted"));
  EXPECT_EQ(c.read_frame().frame.payload, "fragmented");
  EXPECT_EQ(listener.receive().data, "fragmented");
}

TEST(idle, a_malformed_pong_to_an_idle_connection_is_still_a_protocol_error) {
  crier_process server;
  ws_client listener(server.port(), "/ws/bad-pong");
  for (auto const& [what, bytes] : std::vector<std::pair<std::string, std::string>>{
         {"unmasked", std::string("\x8a\x00", 2)},
         {"RSV1 set", [] {
            auto b = encode_frame(pong(""));
            b[0] = static_cast<char>(0xca);
            return b;
          }()},
         {"not final", [] {
            auto b = encode_frame(pong(""));
            b[0] = static_cast<char>(0x0a);
            return b;
          }()}}) {
    SCOPED_TRACE(what);
    raw_ws c(server.port(), "/ws/bad-pong");
    c.write_raw(bytes);
    auto const r = c.read_frame();
    ASSERT_EQ(r.status, raw_ws::read_status::frame) << r.ec.message();
    ASSERT_EQ(r.frame.opcode, ws_op::close);
    EXPECT_EQ(r.frame.close_code(), 1002);
    EXPECT_TRUE(c.wait_tcp_close());
  }
  // The room is unaffected.
  ws_client speaker(server.port(), "/ws/bad-pong");
  speaker.send_text("fine");
  EXPECT_EQ(listener.receive().data, "fine");
}

TEST(idle, a_close_from_an_idle_client_gets_the_closing_handshake) {
  crier_process server;
  raw_ws c(server.port(), "/ws/bye");
  c.send(out_frame{ws_op::close, close_payload(1000, "bye")});
  auto const r = c.read_frame();
  ASSERT_EQ(r.status, raw_ws::read_status::frame) << r.ec.message();
  ASSERT_EQ(r.frame.opcode, ws_op::close);
  EXPECT_EQ(r.frame.close_code(), 1000);
  EXPECT_TRUE(c.wait_tcp_close());
  c.close_tcp(); // the server's side waits for ours, as TCP teardown goes
  EXPECT_TRUE(server.wait_for_line(std::regex("ws close.*code=1000.*by=client"))) << server.log();
}

TEST(idle, a_close_followed_at_once_by_a_reset_is_logged_as_the_client_s_close) {
  // What a browser does when a tab closes: its close frame, then an RST before the answer.
  crier_process server;
  {
    raw_ws c(server.port(), "/ws/tab");
    c.write_raw(encode_frame(out_frame{ws_op::close, close_payload(1001, "tab closed")}));
    c.reset_tcp();
  }
  EXPECT_TRUE(server.wait_for_line(std::regex("ws close.*code=1001.*by=client"))) << server.log();
}

} // namespace
} // namespace crier::test
