// permessage-deflate on the real binary, frame by frame: what the server answers to each kind of
// offer, that RSV1 is set exactly on the frames it compressed and that they inflate to what
// was sent, that a broadcast is compressed once however many members take it, and what a
// client's compressed frames get: inflated and relayed, or, for a bomb or bytes that do not
// inflate, the RFC's close while everyone else carries on.
#include "tests/support/crier_process.hpp"
#include "tests/support/deflate_codec.hpp"
#include "tests/support/raw_ws.hpp"
#include "tests/support/ws_client.hpp"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>

namespace crier::test {
namespace {

// The offer browsers and most libraries make.
std::string const offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";

// Chat-like text of about n bytes: words, which is what compresses.
std::string words(std::size_t n, int salt = 0) {
  static char const* const w[] = {"town ", "crier ", "hear ", "ye ", "the ", "market ", "opens ", "at ", "noon "};
  std::string s = "#" + std::to_string(salt) + " ";
  for (std::size_t i = 0; s.size() < n; ++i) s += w[(i * 5 + static_cast<std::size_t>(salt)) % 9];
  s.resize(n);
  return s;
}

// The next data frame from `c`, and whether it came compressed; its payload inflated.
struct received {
  std::string text;
  bool rsv1 = false;
  std::uint8_t opcode = 0;
};
received next_data(raw_ws& c, int bits = 15) {
  for (;;) {
    auto const r = c.read_frame();
    if (r.status != raw_ws::read_status::frame) {
      ADD_FAILURE() << "no frame: " << r.ec.message();
      return {};
    }
    auto const& f = r.frame;
    if (f.opcode == ws_op::ping || f.opcode == ws_op::pong) continue;
    EXPECT_TRUE(f.fin);
    EXPECT_FALSE(f.rsv2 || f.rsv3);
    return {f.rsv1 ? inflate_message(f.payload, bits) : f.payload, f.rsv1, f.opcode};
  }
}

std::uint16_t close_code_of(raw_ws& c) {
  for (;;) {
    auto const r = c.read_frame();
    if (r.status != raw_ws::read_status::frame) return 0;
    if (r.frame.opcode == ws_op::close) return r.frame.close_code().value_or(0);
  }
}

out_frame compressed_text(std::string payload, bool fin = true) {
  out_frame f{ws_op::text, std::move(payload), fin};
  f.rsv1 = true;
  return f;
}

TEST(compression, answers_each_offer) {
  crier_process server;
  struct row {
    std::string headers;
    std::string answer;
  };
  // By default the server keeps its context (for the rooms' compression streams) unless the client
  // asks it not to.
  for (auto const& r : std::vector<row>{
         {"", ""},
         {offer, "permessage-deflate; client_max_window_bits=10"},
         {"Sec-WebSocket-Extensions: permessage-deflate\r\n", "permessage-deflate"},
         {"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n",
          "permessage-deflate; server_no_context_takeover"},
         // Split over two field lines: one list.
         {"Sec-WebSocket-Extensions: permessage-deflate; mystery\r\nSec-WebSocket-Extensions: permessage-deflate; "
          "server_max_window_bits=8\r\n",
          "permessage-deflate; server_max_window_bits=8"},
         // Offers that must be declined: the handshake still succeeds, without the extension.
         {"Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits\r\n", ""},
         {"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=16\r\n", ""},
         {"Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n", ""},
         {"Sec-WebSocket-Extensions: permessage-deflate; ;;\r\n", ""},
       }) {
    SCOPED_TRACE(r.headers);
    raw_ws c;
    c.connect(server.port(), "/ws/offers", 5s, r.headers);
    EXPECT_EQ(c.handshake().field("sec-websocket-extensions"), r.answer);
  }
  crier_process off({"--compression", "off"});
  raw_ws c;
  c.connect(off.port(), "/ws/offers", 5s, offer);
  EXPECT_EQ(c.handshake().field("sec-websocket-extensions"), "");
  // Without room streams every message is compressed on its own, and the answer says so.
  crier_process alone({"--compression-context-members", "0"});
  for (auto const& [headers, answer] : std::vector<std::pair<std::string, std::string>>{
         {offer, "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"},
         {"Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12\r\n",
          "permessage-deflate; server_no_context_takeover; server_max_window_bits=12"}}) {
    raw_ws a;
    a.connect(alone.port(), "/ws/offers", 5s, headers);
    EXPECT_EQ(a.handshake().field("sec-websocket-extensions"), answer);
  }
}

TEST(compression, rsv1_exactly_on_compressed_frames_and_a_mixed_room_gets_the_same_messages) {
  crier_process server;
  raw_ws deflating;
  deflating.connect(server.port(), "/ws/mixed", 5s, offer);
  raw_ws plain(server.port(), "/ws/mixed");
  ws_client speaker(server.port(), "/ws/mixed");
  auto const before = scrape_metrics(server.port());

  std::vector<std::string> const sent = {words(300, 1), "short one", words(127, 2), words(128, 3), words(60000, 4)};
  for (auto const& s : sent) speaker.send_text(s);
  speaker.send_binary(words(400, 5));
  for (auto const& s : sent) {
    SCOPED_TRACE(s.size());
    auto const d = next_data(deflating);
    EXPECT_EQ(d.text, s);
    EXPECT_EQ(d.opcode, ws_op::text);
    EXPECT_EQ(d.rsv1, s.size() >= 128) << "compressed exactly from --compression-min-size (128) up";
    auto const p = next_data(plain);
    EXPECT_EQ(p.text, s);
    EXPECT_FALSE(p.rsv1) << "a client that did not offer the extension never sees RSV1";
    EXPECT_EQ(speaker.receive().data, s);
  }
  auto const bin = next_data(deflating);
  EXPECT_EQ(bin.opcode, ws_op::binary);
  EXPECT_TRUE(bin.rsv1);
  EXPECT_EQ(bin.text, words(400, 5));
  EXPECT_FALSE(next_data(plain).rsv1);

  auto const compressed_before = before.at("crier_compressed_messages_out_total");
  EXPECT_EQ(metric_reaching(server.port(), "crier_compressed_messages_out_total", compressed_before + 4) - compressed_before, 4);
}

TEST(compression, a_broadcast_is_compressed_once_for_every_member) {
  crier_process server;
  std::vector<std::unique_ptr<raw_ws>> members;
  for (int i = 0; i < 8; ++i) {
    members.push_back(std::make_unique<raw_ws>());
    members.back()->connect(server.port(), "/ws/once", 5s, offer);
  }
  ws_client speaker(server.port(), "/ws/once");
  auto const before = scrape_metrics(server.port());
  constexpr int messages = 20;
  for (int m = 0; m < messages; ++m) speaker.send_text(words(250, m));
  for (auto& c : members)
    for (int m = 0; m < messages; ++m) {
      auto const d = next_data(*c);
      ASSERT_TRUE(d.rsv1);
      ASSERT_EQ(d.text, words(250, m));
    }
  auto const compressed_before = before.at("crier_compressed_messages_out_total");
  EXPECT_EQ(metric_reaching(server.port(), "crier_compressed_messages_out_total", compressed_before + messages * 8) -
              compressed_before,
            messages * 8);
  EXPECT_EQ(metric(server.port(), "crier_compressions_total") - before.at("crier_compressions_total"), messages);

  // A raw resume replays the same compressed bytes: nothing is compressed again.
  raw_ws late;
  late.connect(server.port(), "/ws/once?since=0", 5s, offer);
  for (int m = 0; m < messages; ++m) {
    auto const d = next_data(late);
    ASSERT_TRUE(d.rsv1);
    ASSERT_EQ(d.text, words(250, m));
  }
  EXPECT_EQ(scrape_metrics(server.port()).at("crier_compressions_total") - before.at("crier_compressions_total"), messages);
}

TEST(compression, a_json_member_gets_its_welcome_and_replies_compressed) {
  crier_process server;
  ws_client speaker(server.port(), "/ws/jsonz");
  for (int m = 0; m < 5; ++m) speaker.send_text(words(200, m));
  for (int m = 0; m < 5; ++m) speaker.receive();
  raw_ws j;
  j.connect(server.port(), "/ws/jsonz?name=zed", 5s, offer + "Sec-WebSocket-Protocol: crier.v1\r\n");
  auto const welcome = next_data(j);
  EXPECT_TRUE(welcome.rsv1);
  EXPECT_NE(welcome.text.find(R"("type":"welcome")"), std::string::npos) << welcome.text;
  EXPECT_NE(welcome.text.find(words(200, 4)), std::string::npos);
  j.send(out_frame{ws_op::text, R"({"type":"history","limit":5})"});
  auto const page = next_data(j);
  EXPECT_TRUE(page.rsv1);
  EXPECT_NE(page.text.find(R"("type":"history")"), std::string::npos) << page.text;
}

TEST(compression, a_small_client_window_gets_plain_what_it_could_not_hold) {
  crier_process server({"--compression-min-size", "64"});
  raw_ws small;
  small.connect(server.port(), "/ws/window", 5s,
                "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8\r\n");
  ws_client speaker(server.port(), "/ws/window");
  speaker.send_text(words(200, 1));
  speaker.send_text(words(256, 2));
  speaker.send_text(words(257, 3));
  auto const a = next_data(small, 8);
  EXPECT_TRUE(a.rsv1);
  EXPECT_EQ(a.text, words(200, 1));
  auto const b = next_data(small, 8);
  EXPECT_TRUE(b.rsv1);
  EXPECT_EQ(b.text, words(256, 2));
  auto const c = next_data(small, 8);
  EXPECT_FALSE(c.rsv1) << "257 bytes could refer back further than the client's 256-byte window";
  EXPECT_EQ(c.text, words(257, 3));
}

TEST(compression, client_compressed_messages_are_inflated_whatever_the_window) {
  crier_process server;
  ws_client bystander(server.port(), "/ws/inbound");
  struct variant {
    std::string offer;
    int bits; // what the client then compresses with
  };
  for (auto const& v : std::vector<variant>{
         {"Sec-WebSocket-Extensions: permessage-deflate\r\n", 15},
         {offer, 10},
         {"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=9\r\n", 9},
         {"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=8\r\n", 9}, // zlib's 8 is 9
         {"Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n", 15},
       }) {
    SCOPED_TRACE(v.offer);
    raw_ws c;
    c.connect(server.port(), "/ws/inbound", 5s, v.offer);
    auto const text = words(5000, v.bits);
    c.send(compressed_text(deflate_alone(text, v.bits)));
    // Fragmented: RSV1 on the first frame only (RFC 7692 section 6.1).
    auto const z = deflate_alone(words(3000, 100 + v.bits), v.bits);
    auto const third = z.size() / 3;
    c.send_all({compressed_text(z.substr(0, third), false), {ws_op::cont, z.substr(third, third), false},
                {ws_op::cont, z.substr(2 * third), true}});
    EXPECT_EQ(bystander.receive().data, text);
    EXPECT_EQ(bystander.receive().data, words(3000, 100 + v.bits));
  }
}

TEST(compression, a_bomb_gets_1009_while_it_inflates_and_bad_data_gets_1007) {
  crier_process server({"--max-message-size", "64KiB"});
  ws_client bystander(server.port(), "/ws/bomb");
  {
    // 64 MiB of zeros compress to about 64 KiB: the limit is on what it inflates to.
    raw_ws bomb;
    bomb.connect(server.port(), "/ws/bomb", 5s, offer);
    auto const z = deflate_alone(std::string(64 << 20, '\0'));
    ASSERT_LT(z.size(), 100u * 1024);
    bomb.send(compressed_text(z), 20s);
    EXPECT_EQ(close_code_of(bomb), 1009);
  }
  {
    raw_ws bad;
    bad.connect(server.port(), "/ws/bomb", 5s, offer);
    bad.send(out_frame{ws_op::text, "fine"});
    bad.send(compressed_text("\xff\xfe\xfd this is not deflate"));
    EXPECT_EQ(bystander.receive().data, "fine");
    auto const r = bad.read_frame();
    ASSERT_EQ(r.status, raw_ws::read_status::frame);
    EXPECT_EQ(r.frame.opcode, ws_op::text) << "its own echo first";
    EXPECT_EQ(close_code_of(bad), 1007);
    EXPECT_TRUE(bad.wait_tcp_close(5s));
  }
  for (auto const& f : {[] { out_frame p{ws_op::ping, "x"}; p.rsv1 = true; return p; }(),
                        [] { out_frame c{ws_op::cont, "x"}; c.rsv1 = true; return c; }()}) {
    // RSV1 is for the first frame of a data message only: a control frame or a continuation
    // with it is a protocol error.
    raw_ws c;
    c.connect(server.port(), "/ws/bomb", 5s, offer);
    if (f.opcode == ws_op::cont) c.send(compressed_text(deflate_alone("first part of it"), false));
    c.send(f);
    EXPECT_EQ(close_code_of(c), 1002) << int{f.opcode};
  }
  ws_client speaker(server.port(), "/ws/bomb");
  speaker.send_text("still here");
  EXPECT_EQ(bystander.receive().data, "still here");
  EXPECT_TRUE(server.wait_for_line(std::regex("ws close.*1009")));
  auto const lines = server.lines();
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                          [](std::string const& l) { return l.find("does not inflate") != std::string::npos; }),
            1);
}

} // namespace
} // namespace crier::test
