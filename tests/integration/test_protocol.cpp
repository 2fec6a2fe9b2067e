// crier.v1 over real sockets: negotiation, identity, welcome/join/message/leave, history paging,
// raw and JSON interop, binary in mixed rooms, error events, and the read-only HTTP API.
#include "tests/support/crier_process.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/beast/websocket/error.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace crier::test {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;
namespace websocket = boost::beast::websocket;

TEST(protocol, crier_v1_is_negotiated_only_when_offered) {
  crier_process server;
  json_client js(server.port(), "/ws/neg");
  EXPECT_EQ(js.handshake_response()[http::field::sec_websocket_protocol], "crier.v1");
  EXPECT_EQ(js.next().at("type"), "welcome");

  ws_client none(server.port(), "/ws/neg");
  EXPECT_EQ(none.handshake_response().count(http::field::sec_websocket_protocol), 0U);
  ws_client unknown(server.port(), "/ws/neg", "chat, superchat");
  EXPECT_EQ(unknown.handshake_response().count(http::field::sec_websocket_protocol), 0U);
  // Both kinds share the room: raw text reaches the JSON member as an event.
  unknown.send_text("raw hello");
  EXPECT_EQ(unknown.receive().data, "raw hello");
  EXPECT_EQ(none.receive().data, "raw hello");
  EXPECT_EQ(js.next_of("message").at("text"), "raw hello");
}

TEST(protocol, the_whole_json_flow) {
  crier_process server;
  json_client ann(server.port(), "/ws/flow?name=ann");
  auto const w1 = ann.next();
  EXPECT_EQ(w1.at("type"), "welcome");
  EXPECT_EQ(w1.at("name"), "ann");
  EXPECT_EQ(w1.at("room"), "flow");
  EXPECT_EQ(w1.at("seq"), 0);
  EXPECT_EQ(w1.at("resumed"), false);
  EXPECT_EQ(w1.at("history").as_array().size(), 0U);
  ASSERT_EQ(w1.at("members").as_array().size(), 1U);
  auto const ann_id = w1.at("id").as_string();

  json_client bob(server.port(), "/ws/flow?name=%20bob%20"); // trimmed
  auto const w2 = bob.next();
  EXPECT_EQ(w2.at("name"), "bob");
  EXPECT_EQ(w2.at("members").as_array().size(), 2U);
  auto const join = ann.next();
  EXPECT_EQ(join.at("type"), "join");
  EXPECT_EQ(join.at("member").at("name"), "bob");
  EXPECT_EQ(join.at("member").at("id"), w2.at("id"));
  EXPECT_GT(join.at("ts").as_int64(), 0);

  bob.say("hi ann");
  for (auto* c : {&ann, &bob}) {
    auto const m = c->next();
    EXPECT_EQ(m.at("type"), "message");
    EXPECT_EQ(m.at("seq"), 1);
    EXPECT_EQ(m.at("text"), "hi ann");
    EXPECT_EQ(m.at("from").at("name"), "bob");
    EXPECT_EQ(m.at("from").at("id"), w2.at("id"));
  }
  ann.say("hi bob");
  EXPECT_EQ(bob.next().at("seq"), 2);
  EXPECT_EQ(ann.next().at("from").at("id"), ann_id);

  ann.close();
  auto const leave = bob.next();
  EXPECT_EQ(leave.at("type"), "leave");
  EXPECT_EQ(leave.at("member").at("id"), ann_id);
}

TEST(protocol, names_ids_and_bad_names) {
  crier_process server;
  json_client guest(server.port(), "/ws/names");
  auto const w = guest.next();
  EXPECT_TRUE(std::regex_match(std::string(w.at("name").as_string()), std::regex("guest-[0-9a-f]{4}")));
  json_client twin1(server.port(), "/ws/names?name=twin");
  json_client twin2(server.port(), "/ws/names?name=twin");
  auto const id1 = twin1.next().at("id");
  auto const id2 = twin2.next().at("id");
  EXPECT_NE(id1, id2); // same display name, different ids

  for (auto const* bad : {"/ws/names?name=", "/ws/names?name=%20%20", "/ws/names?name=a%0Ab",
                          "/ws/names?name=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "/ws/names?name=%FF", "/ws/names?name=%zz"}) {
    ws_client c;
    websocket::response_type response;
    auto const ec = c.try_connect(server.port(), bad, response, "crier.v1");
    EXPECT_TRUE(ec) << bad;
    EXPECT_EQ(response.result(), http::status::bad_request) << bad;
    EXPECT_NE(response.body().find("invalid name"), std::string::npos) << bad << ": " << response.body();
  }
}

TEST(protocol, raw_and_json_interop_both_ways) {
  crier_process server;
  ws_client raw(server.port(), "/ws/mix?name=rawley");
  json_client js(server.port(), "/ws/mix?name=jay");
  js.next(); // welcome
  raw.send_text("from raw");
  auto const m = js.next();
  EXPECT_EQ(m.at("type"), "message");
  EXPECT_EQ(m.at("text"), "from raw");
  EXPECT_EQ(m.at("from").at("name"), "rawley");
  EXPECT_EQ(raw.receive().data, "from raw");

  js.say("from json");
  auto const got = raw.receive();
  EXPECT_EQ(got.data, "from json"); // just the text, verbatim
  EXPECT_FALSE(got.binary);
  EXPECT_EQ(js.next().at("text"), "from json");

  // Raw members hear no presence: the next thing the raw client gets is the next message.
  json_client late(server.port(), "/ws/mix");
  late.next();
  late.close();
  js.say("after presence");
  EXPECT_EQ(raw.receive().data, "after presence");
}

TEST(protocol, binary_in_mixed_rooms) {
  crier_process server;
  ws_client raw(server.port(), "/ws/bin");
  json_client js(server.port(), "/ws/bin");
  js.next(); // welcome
  std::string const blob("\x00\xff\x01 binary", 10);
  // From each mode in turn, to every member of both modes, as binary, byte for byte.
  raw.send_binary(blob);
  for (auto* c : std::initializer_list<ws_client*>{&raw, &js}) {
    auto const m = c->receive();
    EXPECT_TRUE(m.binary);
    EXPECT_EQ(m.data, blob);
  }
  js.send_binary(blob + "2");
  for (auto* c : std::initializer_list<ws_client*>{&raw, &js}) {
    auto const m = c->receive();
    EXPECT_TRUE(m.binary);
    EXPECT_EQ(m.data, blob + "2");
  }
}

TEST(protocol, error_events_keep_the_connection_open_until_too_many) {
  crier_process server;
  json_client js(server.port(), "/ws/err");
  js.next();
  js.send_text("not json");
  auto e = js.next();
  EXPECT_EQ(e.at("type"), "error");
  EXPECT_EQ(e.at("code"), "invalid_json");
  js.send_text(R"({"type":"dance"})");
  EXPECT_EQ(js.next().at("code"), "unknown_type");
  js.send_text(R"({"type":"message","text":42})");
  EXPECT_EQ(js.next().at("code"), "invalid_field");
  // Still open and working.
  js.say("still here");
  EXPECT_EQ(js.next().at("text"), "still here");
  // Errors 4..10 are answered; the 11th within a minute closes with 1008.
  for (int i = 4; i <= 10; ++i) {
    js.send_text("{");
    EXPECT_EQ(js.next().at("type"), "error") << i;
  }
  js.send_text("{");
  auto const r = js.read();
  EXPECT_EQ(r.ec, websocket::error::closed) << r.ec.message();
  EXPECT_EQ(js.close_code(), 1008);
}

TEST(protocol, history_paging) {
  crier_process server({"--history", "20"});
  json_client js(server.port(), "/ws/hist");
  js.next();
  for (int i = 1; i <= 25; ++i) js.say("m" + std::to_string(i));
  for (int i = 1; i <= 25; ++i) EXPECT_EQ(js.next().at("seq"), i);
  js.send_text(R"({"type":"history","limit":5})");
  auto page = js.next();
  EXPECT_EQ(page.at("type"), "history");
  auto messages = page.at("messages").as_array();
  ASSERT_EQ(messages.size(), 5U);
  EXPECT_EQ(messages.front().at("seq"), 21);
  EXPECT_EQ(messages.back().at("seq"), 25);
  js.send_text(R"({"type":"history","before":21,"limit":100})");
  messages = js.next().at("messages").as_array();
  ASSERT_EQ(messages.size(), 15U); // the ring holds 6..25
  EXPECT_EQ(messages.front().at("seq"), 6);
  EXPECT_EQ(messages.front().at("text"), "m6");
  // A newcomer's welcome carries the ring.
  json_client late(server.port(), "/ws/hist");
  auto const w = late.next();
  EXPECT_EQ(w.at("history").as_array().size(), 20U);
  EXPECT_EQ(w.at("seq"), 25);
}

TEST(protocol, resume_without_and_with_a_gap_in_both_modes) {
  crier_process server({"--history", "5"});
  ws_client sender(server.port(), "/ws/res");
  json_client first(server.port(), "/ws/res");
  auto const epoch = std::string(first.next().at("epoch").as_string());
  for (int i = 1; i <= 3; ++i) sender.send_text("m" + std::to_string(i));
  for (int i = 1; i <= 3; ++i) first.next();

  // Missed 2 and 3, both retained: a complete resume.
  json_client js(server.port(), "/ws/res?since=1&epoch=" + epoch);
  auto w = js.next();
  EXPECT_EQ(w.at("resumed"), true);
  ASSERT_EQ(w.at("history").as_array().size(), 2U);
  EXPECT_EQ(w.at("history").as_array()[0].at("seq"), 2);
  ws_client raw(server.port(), "/ws/res?since=1");
  EXPECT_EQ(raw.receive().data, "m2");
  EXPECT_EQ(raw.receive().data, "m3");
  // Then live traffic, once.
  sender.send_text("m4");
  EXPECT_EQ(raw.receive().data, "m4");
  EXPECT_EQ(js.next_of("message").at("seq"), 4);

  for (int i = 5; i <= 12; ++i) sender.send_text("m" + std::to_string(i));
  for (int i = 1; i <= 12; ++i) sender.receive();
  // Now the ring holds 8..12: a resume from 3 has a gap.
  json_client gap(server.port(), "/ws/res?since=3&epoch=" + epoch);
  w = gap.next();
  EXPECT_EQ(w.at("resumed"), false);
  ASSERT_EQ(w.at("history").as_array().size(), 5U);
  EXPECT_EQ(w.at("history").as_array()[0].at("seq"), 8);
  ws_client raw_gap(server.port(), "/ws/res?since=3");
  EXPECT_EQ(raw_gap.receive().data, "m8"); // what is retained, in order
  for (int i = 9; i <= 12; ++i) EXPECT_EQ(raw_gap.receive().data, "m" + std::to_string(i));
  sender.send_text("m13");
  EXPECT_EQ(raw_gap.receive().data, "m13");

  // A since that is not a number is refused.
  ws_client bad;
  websocket::response_type response;
  EXPECT_TRUE(bad.try_connect(server.port(), "/ws/res?since=abc", response));
  EXPECT_EQ(response.result(), http::status::bad_request);
}

TEST(protocol, resume_never_duplicates_or_misses_under_concurrent_traffic) {
  crier_process server({"--history", "1000", "--threads", "2"});
  ws_client sender(server.port(), "/ws/race");
  json_client watcher(server.port(), "/ws/race");
  auto const epoch = std::string(watcher.next().at("epoch").as_string());
  for (int i = 1; i <= 50; ++i) sender.send_text(std::to_string(i));
  EXPECT_EQ(watcher.next_of("message").at("seq"), 1);
  while (watcher.next_of("message").at("seq") != 50) {
  }
  // Messages 51..300 are in flight while the resuming client joins.
  for (int i = 51; i <= 300; ++i) sender.send_text(std::to_string(i));
  json_client resumer(server.port(), "/ws/race?since=50&epoch=" + epoch);
  auto const w = resumer.next();
  EXPECT_EQ(w.at("resumed"), true);
  std::int64_t expected = 51;
  for (auto const& m : w.at("history").as_array()) EXPECT_EQ(m.at("seq"), expected++);
  while (expected <= 300) {
    auto const m = resumer.next_of("message");
    ASSERT_EQ(m.at("seq"), expected) << "duplicate or gap";
    ++expected;
  }
}

TEST(protocol, rooms_api) {
  crier_process server;
  json_client a(server.port(), "/ws/alpha?name=ann");
  json_client b(server.port(), "/ws/alpha?name=bob");
  ws_client c(server.port(), "/ws/beta");
  auto const list = http_get(server.port(), "/api/rooms");
  EXPECT_EQ(list.response.result(), http::status::ok);
  EXPECT_EQ(list.response[http::field::content_type], "application/json");
  EXPECT_EQ(json::parse(list.response.body()), json::parse(R"([{"room":"alpha","members":2},{"room":"beta","members":1}])"));
  auto const one = json::parse(http_get(server.port(), "/api/rooms/alpha").response.body()).as_object();
  EXPECT_EQ(one.at("room"), "alpha");
  auto const& members = one.at("members").as_array();
  ASSERT_EQ(members.size(), 2U);
  std::set<std::string> names;
  for (auto const& m : members) names.insert(std::string(m.at("name").as_string()));
  EXPECT_EQ(names, (std::set<std::string>{"ann", "bob"}));
  EXPECT_EQ(http_get(server.port(), "/api/nothing").response.result(), http::status::not_found);
  auto const post = http_raw(server.port(), "POST /api/rooms HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(post.response.result(), http::status::method_not_allowed);
}

} // namespace
} // namespace crier::test

namespace crier::test {
namespace {

TEST(protocol, an_empty_rooms_history_expires_after_its_ttl) {
  crier_process server({"--empty-room-ttl", "300ms"});
  std::string epoch;
  {
    json_client first(server.port(), "/ws/ttl");
    epoch = std::string(first.next().at("epoch").as_string());
    first.say("remember me");
    first.next();
  }
  // Back within the TTL: the history is there (the room may not have noticed the leave yet,
  // so look for the message rather than timing it).
  json_client again(server.port(), "/ws/ttl");
  auto const w = again.next();
  EXPECT_EQ(std::string(w.at("epoch").as_string()), epoch);
  EXPECT_EQ(w.at("history").as_array().size(), 1U);
  again.close();
  // Wait (under a deadline) for the sweep to drop the empty room: the rooms gauge reaches 0.
  auto const deadline = std::chrono::steady_clock::now() + 10s;
  while (http_get(server.port(), "/metrics").response.body().find("crier_rooms 0\n") == std::string::npos)
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the empty room's history never expired";
  json_client late(server.port(), "/ws/ttl");
  auto const lw = late.next();
  EXPECT_NE(std::string(lw.at("epoch").as_string()), epoch);
  EXPECT_EQ(lw.at("history").as_array().size(), 0U);
}

} // namespace
} // namespace crier::test
