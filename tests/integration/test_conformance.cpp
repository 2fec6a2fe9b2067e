// RFC 6455 conformance on the real binary, frame by frame: a raw client sends frames Beast's own
// client would never produce, and the test checks the close code the server answers with, that
// the server then closes the TCP connection, and that the rest of the room is unaffected: after
// every bad client, a message sent by another client is the very next thing a bystander receives.
#include "tests/support/crier_process.hpp"
#include "tests/support/raw_ws.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/beast/websocket/error.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <initializer_list>

namespace crier::test {
namespace {

constexpr char const* room_path = "/ws/rfc";

// Shorthands for building frames.
out_frame text(std::string payload, bool fin = true) { return {ws_op::text, std::move(payload), fin}; }
out_frame binary(std::string payload, bool fin = true) { return {ws_op::binary, std::move(payload), fin}; }
out_frame cont(std::string payload, bool fin = true) { return {ws_op::cont, std::move(payload), fin}; }
out_frame ping(std::string payload, bool fin = true) { return {ws_op::ping, std::move(payload), fin}; }
out_frame pong(std::string payload, bool fin = true) { return {ws_op::pong, std::move(payload), fin}; }
out_frame close_frame(std::string payload, bool fin = true) { return {ws_op::close, std::move(payload), fin}; }

class conformance : public ::testing::Test {
protected:
  // How the server ends a connection it closes with a code.
  enum class ending {
    fail,      // it fails the connection (RFC 6455 section 7.1.7): close frame, then TCP close at once
    handshake, // it starts a closing handshake: close frame, and TCP close once the client answers
  };

  // The next frame from `c` must be a close frame carrying `code` (after any of the data
  // messages in `echoes`, which the client itself published before misbehaving), and then the
  // server must close the TCP connection.
  static void expect_closed_with(raw_ws& c, std::uint16_t code, std::vector<std::string> const& echoes = {},
                                 ending how = ending::fail) {
    for (;;) {
      auto const r = c.read_frame();
      ASSERT_EQ(r.status, raw_ws::read_status::frame)
        << "no close frame; the connection ended with: " << r.ec.message() << " (" << r.partial << " bytes of a frame)";
      auto const& f = r.frame;
      EXPECT_FALSE(f.masked) << "a server must not mask its frames";
      if ((f.opcode == ws_op::text || f.opcode == ws_op::binary) &&
          std::ranges::find(echoes, f.payload) != echoes.end())
        continue;
      ASSERT_EQ(f.opcode, ws_op::close) << "expected a close frame, got opcode " << int{f.opcode} << " '" << f.payload << "'";
      EXPECT_TRUE(f.fin);
      ASSERT_TRUE(f.close_code().has_value()) << "close frame without a status code";
      EXPECT_EQ(*f.close_code(), code) << "reason: '" << f.close_reason() << "'";
      break;
    }
    if (how == ending::handshake) c.send(close_frame(close_payload(code)));
    std::string extra;
    EXPECT_TRUE(c.wait_tcp_close(5s, &extra)) << "the server did not close the TCP connection after its close frame"
                                              << (extra.empty() ? "" : " and sent more bytes");
  }

  // The room still works for everyone else: a message sent now by another client is the next
  // thing the bystander receives, after the messages in `published` (which the bad client sent
  // before misbehaving). Nothing else of what the bad client sent reached the room.
  void expect_room_still_works(std::vector<std::string> const& published = {}) {
    for (auto* client : {&bystander_, &speaker_}) {
      for (auto const& p : published) {
        auto const got = client->read();
        ASSERT_FALSE(got.ec) << got.ec.message();
        EXPECT_EQ(got.message.data, p);
      }
    }
    auto const msg = "still working #" + std::to_string(++round_);
    speaker_.send_text(msg);
    auto const echo = speaker_.read();
    ASSERT_FALSE(echo.ec) << "speaker: " << echo.ec.message();
    EXPECT_EQ(echo.message.data, msg);
    auto const got = bystander_.read();
    ASSERT_FALSE(got.ec) << "bystander: " << got.ec.message();
    EXPECT_EQ(got.message.data, msg) << "the bystander received something else first";
  }

  // A fresh client in the room sends `frames` in one write; the server must fail it with `code`.
  void expect_failure(std::string const& what, std::vector<out_frame> const& frames, std::uint16_t code,
                      std::vector<std::string> const& published = {}, ending how = ending::fail) {
    SCOPED_TRACE(what);
    {
      raw_ws bad(server_.port(), room_path);
      bad.send_all(frames);
      expect_closed_with(bad, code, published, how);
    }
    expect_room_still_works(published);
  }

  // After all that, the server still drains and exits 0. Under the asan-ubsan preset this also
  // catches a leak or an error inside the server, which would change its exit status.
  void TearDown() override {
    server_.signal(SIGTERM);
    for (auto* client : {&bystander_, &speaker_}) {
      ws_client::read_result r;
      for (int i = 0; i < 100 && !r.ec; ++i) r = client->read(); // past anything a failed test left unread
      EXPECT_EQ(r.ec, boost::beast::websocket::error::closed) << r.ec.message();
      EXPECT_EQ(client->close_code(), 1001);
    }
    EXPECT_EQ(server_.wait_exit(10s), 0) << server_.log();
  }

  crier_process server_;
  ws_client bystander_{server_.port(), room_path};
  ws_client speaker_{server_.port(), room_path};
  int round_ = 0;
};

TEST_F(conformance, unmasked_client_frames_get_1002) {
  for (auto const op : {ws_op::text, ws_op::binary, ws_op::ping, ws_op::close}) {
    out_frame f{op, op == ws_op::close ? close_payload(1000) : "unmasked"};
    f.masked = false;
    expect_failure("unmasked opcode " + std::to_string(op), {f}, 1002);
  }
  // Unmasked in the middle of a fragmented message.
  auto second = cont("two");
  second.masked = false;
  expect_failure("unmasked continuation", {text("one", false), second}, 1002);
}

TEST_F(conformance, reserved_bits_get_1002) {
  // This client offers no extension, so every RSV bit must be 0 (test_compression.cpp covers RSV1
  // on a connection that took permessage-deflate).
  struct bits {
    bool r1, r2, r3;
  };
  for (auto const b : {bits{true, false, false}, bits{false, true, false}, bits{false, false, true},
                       bits{true, true, true}}) {
    auto const name = std::to_string(b.r1) + std::to_string(b.r2) + std::to_string(b.r3);
    for (auto f : {text("rsv"), binary("rsv"), ping("rsv"), close_frame(close_payload(1000))}) {
      f.rsv1 = b.r1;
      f.rsv2 = b.r2;
      f.rsv3 = b.r3;
      expect_failure("rsv " + name + " on opcode " + std::to_string(f.opcode), {f}, 1002);
    }
    auto c = cont("two");
    c.rsv1 = b.r1;
    c.rsv2 = b.r2;
    c.rsv3 = b.r3;
    expect_failure("rsv " + name + " on a continuation", {text("one", false), c}, 1002);
  }
}

TEST_F(conformance, unknown_opcodes_get_1002) {
  for (std::uint8_t op : std::initializer_list<std::uint8_t>{0x3, 0x4, 0x5, 0x6, 0x7}) // reserved data opcodes
    expect_failure("data opcode " + std::to_string(op), {{op, "what is this"}}, 1002);
  for (std::uint8_t op : std::initializer_list<std::uint8_t>{0xB, 0xC, 0xD, 0xE, 0xF}) // reserved control opcodes
    expect_failure("control opcode " + std::to_string(op), {{op, "what is this"}}, 1002);
  // Also in the middle of a fragmented message, and with an empty payload.
  expect_failure("opcode 5 inside a fragmented message", {text("one", false), {0x5, "x"}, cont("two")}, 1002);
  expect_failure("empty opcode 0xB", {{0xB, ""}}, 1002);
}

TEST_F(conformance, control_frames_over_125_bytes_get_1002) {
  std::string const big(126, 'p');
  expect_failure("ping of 126 bytes", {ping(big)}, 1002);
  expect_failure("pong of 126 bytes", {pong(big)}, 1002);
  expect_failure("close of 126 bytes", {close_frame(close_payload(1000, std::string(124, 'r')))}, 1002);
  // The length alone is enough: the server must not wait for 64 KiB of payload.
  {
    SCOPED_TRACE("header of a 64 KiB ping, without its payload");
    {
      raw_ws bad(server_.port(), room_path);
      bad.write_raw(encode_frame(ping(std::string(65536, 'p'))).substr(0, 2 + 8 + 4));
      expect_closed_with(bad, 1002);
    }
    expect_room_still_works();
  }
}

TEST_F(conformance, fragmented_control_frames_get_1002) {
  expect_failure("ping without FIN", {ping("a", false), cont("b")}, 1002);
  expect_failure("pong without FIN", {pong("a", false), cont("b")}, 1002);
  expect_failure("close without FIN", {close_frame(close_payload(1000), false), cont("")}, 1002);
  expect_failure("ping without FIN inside a fragmented message", {text("one", false), ping("a", false), cont("two")},
                 1002);
}

TEST_F(conformance, continuation_without_a_start_gets_1002) {
  expect_failure("lone final continuation", {cont("orphan")}, 1002);
  expect_failure("lone non-final continuation", {cont("orphan", false)}, 1002);
  expect_failure("empty continuation", {cont("")}, 1002);
  // After a complete message, there is nothing to continue; the complete one was published.
  expect_failure("continuation after a finished message", {text("done"), cont("more")}, 1002, {"done"});
}

TEST_F(conformance, a_new_data_frame_inside_a_fragmented_message_gets_1002) {
  expect_failure("text inside text", {text("one", false), text("two")}, 1002);
  expect_failure("binary inside text", {text("one", false), binary("two")}, 1002);
  expect_failure("text inside binary", {binary("one", false), text("two", false), cont("three")}, 1002);
  expect_failure("text after an empty first fragment", {text("", false), text("two")}, 1002);
}

TEST_F(conformance, invalid_utf8_in_a_text_message_gets_1007) {
  for (auto const& [what, bytes] : std::vector<std::pair<std::string, std::string>>{
         {"0xFF byte", "abc\xff"},
         {"lone continuation byte", "\x80"},
         {"overlong '/'", "\xc0\xaf"},
         {"UTF-16 surrogate", "\xed\xa0\x80"},
         {"code point over U+10FFFF", "\xf4\x90\x80\x80"},
         {"truncated sequence at the end", "abc\xce"},
       })
    expect_failure(what, {text(bytes)}, 1007);
  // Binary messages are not UTF-8 and pass as they are.
  speaker_.send_binary("\xff\xfe");
  EXPECT_EQ(speaker_.receive().data, "\xff\xfe");
  EXPECT_EQ(bystander_.receive().data, "\xff\xfe");
}

TEST_F(conformance, invalid_utf8_split_across_fragments_gets_1007) {
  // Each fragment alone could start or end a valid sequence; only the message as a whole is bad.
  expect_failure("lead byte, then a non-continuation", {text("\xce", false), cont("(")}, 1007);
  expect_failure("three-byte sequence cut short", {text("ok \xe2\x82", false), cont("x")}, 1007);
  expect_failure("surrogate split over three fragments", {text("\xed", false), cont("\xa0", false), cont("\x80")},
                 1007);
  expect_failure("truncated sequence in the last non-empty fragment", {text("ok", false), cont("\xf0\x9f\x98")}, 1007);
  // The message ends with an empty final fragment while a sequence is still open. Beast 1.81
  // skips its end-of-message UTF-8 check for an empty final frame (read.hpp only calls
  // utf8_checker::finish() after reading payload bytes), so crier checks whole text messages
  // itself and closes with 1007 through a closing handshake rather than Beast's immediate fail.
  expect_failure("open sequence, then an empty final fragment", {text("ok \xce", false), cont("")}, 1007, {},
                 ending::handshake);
  expect_failure("open sequence, then empty fragments", {text("\xf0\x9f", false), cont("", false), cont("")}, 1007,
                 {}, ending::handshake);
}

TEST_F(conformance, invalid_utf8_fails_fast_before_the_message_ends) {
  // The first fragment is already beyond repair: the server must not wait for the rest.
  raw_ws bad(server_.port(), room_path);
  bad.send(text("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80", false));
  expect_closed_with(bad, 1007);
  expect_room_still_works();
}

TEST_F(conformance, valid_utf8_split_across_fragments_is_delivered_whole) {
  raw_ws good(server_.port(), room_path);
  // U+03B1 over two fragments, U+1F600 over four.
  good.send_all({text("\xce", false), cont("\xb1 ", false), cont("\xf0", false), cont("\x9f", false),
                 cont("\x98", false), cont("\x80")});
  std::string const whole = "\xce\xb1 \xf0\x9f\x98\x80";
  auto const echo = good.read_frame();
  ASSERT_EQ(echo.status, raw_ws::read_status::frame);
  EXPECT_EQ(echo.frame.opcode, ws_op::text);
  EXPECT_TRUE(echo.frame.fin);
  EXPECT_EQ(echo.frame.payload, whole);
  expect_room_still_works({whole});
}

TEST_F(conformance, valid_close_codes_are_echoed) {
  for (std::uint16_t code : std::initializer_list<std::uint16_t>{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 3000, 3999, 4000, 4999}) {
    SCOPED_TRACE("close code " + std::to_string(code));
    {
      raw_ws c(server_.port(), room_path);
      c.send(close_frame(close_payload(code, "bye")));
      expect_closed_with(c, code);
    }
    expect_room_still_works();
  }
}

TEST_F(conformance, a_close_without_a_status_code_gets_a_close_back) {
  raw_ws c(server_.port(), room_path);
  c.send(close_frame(""));
  auto const r = c.read_frame();
  ASSERT_EQ(r.status, raw_ws::read_status::frame) << r.ec.message();
  EXPECT_EQ(r.frame.opcode, ws_op::close);
  // Either an empty close or 1000 is a correct answer to a close without a code.
  if (!r.frame.payload.empty()) {
    EXPECT_EQ(r.frame.close_code(), 1000);
  }
  EXPECT_TRUE(c.wait_tcp_close());
  expect_room_still_works();
}

TEST_F(conformance, invalid_close_codes_get_1002) {
  for (std::uint16_t code : std::initializer_list<std::uint16_t>{0, 999, 1004, 1005, 1006, 1014, 1015, 1016, 1100, 2000, 2999})
    expect_failure("close code " + std::to_string(code), {close_frame(close_payload(code, "bye"))}, 1002);
  expect_failure("1-byte close payload", {close_frame(std::string(1, '\x03'))}, 1002);
  // The reason must be UTF-8 too (RFC 6455 section 5.5.1); Autobahn accepts 1002 or 1007, Beast says 1002.
  expect_failure("close reason not UTF-8", {close_frame(close_payload(1000, "\xff\xfe"))}, 1002);
}

TEST_F(conformance, close_codes_above_4999_get_a_clean_close) {
  // RFC 6455 section 7.4.2 defines ranges up to 4999 only; what a code above means is undefined
  // (Autobahn case 7.13: "Actual events are undefined by the spec."). Beast 1.81's
  // is_valid_close_code() accepts them and echoes the code; a stricter endpoint answers 1002.
  // Either way the closing handshake completes and the room carries on.
  for (std::uint16_t code : std::initializer_list<std::uint16_t>{5000, 65535}) {
    SCOPED_TRACE("close code " + std::to_string(code));
    {
      raw_ws c(server_.port(), room_path);
      c.send(close_frame(close_payload(code)));
      auto const r = c.read_frame();
      ASSERT_EQ(r.status, raw_ws::read_status::frame) << r.ec.message();
      ASSERT_EQ(r.frame.opcode, ws_op::close);
      ASSERT_TRUE(r.frame.close_code());
      EXPECT_TRUE(*r.frame.close_code() == code || *r.frame.close_code() == 1002) << *r.frame.close_code();
      EXPECT_TRUE(c.wait_tcp_close());
    }
    expect_room_still_works();
  }
}

TEST_F(conformance, ping_gets_a_pong_with_the_same_payload) {
  raw_ws c(server_.port(), room_path);
  std::string every_byte;
  for (int i = 0; i < 125; ++i) every_byte.push_back(static_cast<char>(i * 2 + 1));
  for (auto const& payload : {std::string{}, std::string("hello"), every_byte}) {
    c.send(ping(payload));
    auto const r = c.read_frame();
    ASSERT_EQ(r.status, raw_ws::read_status::frame) << r.ec.message();
    EXPECT_EQ(r.frame.opcode, ws_op::pong);
    EXPECT_TRUE(r.frame.fin);
    EXPECT_FALSE(r.frame.masked);
    EXPECT_EQ(r.frame.payload, payload);
  }
  // An unsolicited pong is ignored (RFC 6455 section 5.5.3): no answer, the session carries on.
  c.send(pong("unsolicited"));
  c.send(text("after the pong"));
  auto const r = c.read_frame();
  ASSERT_EQ(r.status, raw_ws::read_status::frame) << r.ec.message();
  EXPECT_EQ(r.frame.opcode, ws_op::text);
  EXPECT_EQ(r.frame.payload, "after the pong");
  // Pings and pongs never reach the room: the next message after this one is the speaker's.
  expect_room_still_works({"after the pong"});
}

TEST_F(conformance, a_fragmented_message_with_pings_interleaved_is_delivered_as_one_message) {
  raw_ws c(server_.port(), room_path);
  c.send_all({text("Hel", false), ping("p1"), cont("lo, ", false), ping("p2"), cont("", false), pong("ignored"),
              cont("world")});
  // The pongs come as the pings are read; the message is published once its last fragment is.
  std::vector<std::string> pongs;
  in_frame message;
  while (message.opcode != ws_op::text) {
    auto const r = c.read_frame();
    ASSERT_EQ(r.status, raw_ws::read_status::frame) << r.ec.message();
    if (r.frame.opcode == ws_op::pong) pongs.push_back(r.frame.payload);
    else message = r.frame;
  }
  EXPECT_EQ(pongs, (std::vector<std::string>{"p1", "p2"}));
  EXPECT_EQ(message.opcode, ws_op::text);
  EXPECT_TRUE(message.fin) << "the message must come out as one frame";
  EXPECT_EQ(message.payload, "Hello, world");

  auto const got = bystander_.receive();
  EXPECT_EQ(got.data, "Hello, world");
  EXPECT_FALSE(got.binary);
  EXPECT_EQ(speaker_.receive().data, "Hello, world");

  // Binary too, and the session is still open afterwards.
  c.send_all({binary("\x01", false), ping("p3"), cont("\x02", false), cont("\x03")});
  auto const p3 = c.read_frame();
  ASSERT_EQ(p3.status, raw_ws::read_status::frame);
  EXPECT_EQ(p3.frame.opcode, ws_op::pong);
  EXPECT_EQ(p3.frame.payload, "p3");
  auto const bin = c.read_frame();
  ASSERT_EQ(bin.status, raw_ws::read_status::frame);
  EXPECT_EQ(bin.frame.opcode, ws_op::binary);
  EXPECT_EQ(bin.frame.payload, "\x01\x02\x03");
  auto const got_bin = bystander_.receive();
  EXPECT_TRUE(got_bin.binary);
  EXPECT_EQ(got_bin.data, "\x01\x02\x03");
  EXPECT_EQ(speaker_.receive().data, "\x01\x02\x03");

  // A normal close ends it cleanly.
  c.send(close_frame(close_payload(1000)));
  expect_closed_with(c, 1000);
  expect_room_still_works();
}

} // namespace
} // namespace crier::test

namespace crier::test {
namespace {

// The writer sends everything a session has queued in one gather write of frames it framed
// itself, while Beast answers pings from inside its read operation. Here the client stops
// reading so the server's writes back up, and pings all the while: every pong must come out as
// a frame of its own between whole messages (never inside one), the messages must come out whole
// and in order, with the header Beast would have written for each size, and every pong in order.
TEST(write_batches, pongs_never_land_inside_a_batch_and_every_size_is_framed_right) {
  crier_process server({"--max-queue-bytes", "64MiB", "--max-message-size", "1MiB"});
  raw_ws c(server.port(), "/ws/batches");
  ws_client speaker(server.port(), "/ws/batches");

  // Sizes at every boundary of the length encoding, and large ones that fill the socket.
  std::vector<std::size_t> const sizes = {0,     1,     125,    126,    127,     2047, 2048, 65535,
                                          65536, 65537, 300000, 700000, 1 << 20, 17,   900000, 5};
  std::vector<std::string> sent;
  int pings = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    std::string payload(sizes[i], static_cast<char>('a' + i % 26));
    if (!payload.empty()) payload[0] = static_cast<char>('A' + i % 26); // tells them apart
    bool const binary = i % 3 == 1;
    if (binary) speaker.send_binary(payload);
    else speaker.send_text(payload);
    sent.push_back(payload);
    // A few pings per message, while the server is writing to this client that does not read.
    for (int k = 0; k < 3; ++k) c.send(out_frame{ws_op::ping, "ping " + std::to_string(pings++)});
  }

  std::vector<std::string> got, pongs;
  while (got.size() < sent.size() || static_cast<int>(pongs.size()) < pings) {
    auto const r = c.read_frame(10s);
    ASSERT_EQ(r.status, raw_ws::read_status::frame)
      << r.ec.message() << " after " << got.size() << " messages and " << pongs.size() << " pongs";
    auto const& f = r.frame;
    EXPECT_TRUE(f.fin);
    EXPECT_FALSE(f.masked);
    EXPECT_FALSE(f.rsv1 || f.rsv2 || f.rsv3);
    if (f.opcode == ws_op::pong) {
      pongs.push_back(f.payload);
      continue;
    }
    ASSERT_LT(got.size(), sent.size()) << "an extra data frame, opcode " << int{f.opcode};
    EXPECT_EQ(f.opcode, got.size() % 3 == 1 ? ws_op::binary : ws_op::text) << "message " << got.size();
    got.push_back(f.payload);
  }
  ASSERT_EQ(got.size(), sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(got[i].size(), sent[i].size()) << "message " << i;
    EXPECT_TRUE(got[i] == sent[i]) << "message " << i << " differs";
  }
  for (int k = 0; k < pings; ++k) EXPECT_EQ(pongs[static_cast<std::size_t>(k)], "ping " + std::to_string(k));

  // The closing handshake still works after all that: the server's close frame follows the data.
  server.signal(SIGTERM);
  auto const r = c.read_frame();
  ASSERT_EQ(r.status, raw_ws::read_status::frame) << r.ec.message();
  EXPECT_EQ(r.frame.opcode, ws_op::close);
  EXPECT_EQ(r.frame.close_code(), 1001);
  c.send(out_frame{ws_op::close, close_payload(1001)});
  EXPECT_TRUE(c.wait_tcp_close());
  c.close_tcp(); // the server's teardown waits for our end of the TCP connection
  ws_client::read_result s;
  while (!s.ec) s = speaker.read();
  EXPECT_EQ(s.ec, boost::beast::websocket::error::closed) << s.ec.message();
  EXPECT_EQ(server.wait_exit(10s), 0) << server.log();
}

// With --compression off, a client that offers permessage-deflate (every browser does) gets a
// 101 without Sec-WebSocket-Extensions, and then uncompressed frames, which is what RFC 7692
// requires when the offer is declined. (test_compression.cpp covers the extension taken.)
TEST(write_batches, with_compression_off_an_offer_is_declined_and_frames_are_plain) {
  crier_process server({"--compression", "off"});
  raw_ws c;
  c.connect_tcp(server.port());
  auto request = raw_ws::upgrade_request("/ws/deflate");
  request.insert(request.size() - 2, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
  c.write_raw(request);
  auto const head = c.read_http();
  ASSERT_TRUE(head);
  ASSERT_EQ(head->status, 101u);
  EXPECT_EQ(head->field("sec-websocket-extensions"), "");
  std::string const text(3000, 'z');
  c.send(out_frame{ws_op::text, text});
  auto const r = c.read_frame();
  ASSERT_EQ(r.status, raw_ws::read_status::frame) << r.ec.message();
  EXPECT_EQ(r.frame.opcode, ws_op::text);
  EXPECT_FALSE(r.frame.rsv1);
  EXPECT_EQ(r.frame.payload, text);
}

} // namespace
} // namespace crier::test
