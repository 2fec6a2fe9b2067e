// crier.v1 JSON: decoding every client message and error, rendering every server event.
#include "common/protocol.hpp"
#include "common/query.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace crier {
namespace {

namespace json = boost::json;

protocol_error expect_error(std::string_view text, std::string_view code) {
  auto const m = decode_client_message(text);
  EXPECT_TRUE(std::holds_alternative<protocol_error>(m)) << text;
  if (!std::holds_alternative<protocol_error>(m)) return {};
  auto const e = std::get<protocol_error>(m);
  EXPECT_EQ(e.code, code) << text << ": " << e.reason;
  EXPECT_FALSE(e.reason.empty());
  return e;
}

TEST(protocol, decodes_a_message) {
  auto const m = decode_client_message(R"({"type":"message","text":"hi \u00e9 <b>"})");
  ASSERT_TRUE(std::holds_alternative<send_text_request>(m));
  EXPECT_EQ(std::get<send_text_request>(m).text, "hi \xc3\xa9 <b>");
  // Unknown extra fields are ignored, for forward compatibility.
  EXPECT_TRUE(std::holds_alternative<send_text_request>(
    decode_client_message(R"({"type":"message","text":"","extra":[1,2]})")));
}

TEST(protocol, decodes_history_requests) {
  auto m = decode_client_message(R"({"type":"history","before":41,"limit":10})");
  ASSERT_TRUE(std::holds_alternative<history_request>(m));
  EXPECT_EQ(std::get<history_request>(m).before, 41U);
  EXPECT_EQ(std::get<history_request>(m).limit, 10U);
  m = decode_client_message(R"({"type":"history"})");
  EXPECT_FALSE(std::get<history_request>(m).before);
  EXPECT_EQ(std::get<history_request>(m).limit, 50U);
  m = decode_client_message(R"({"type":"history","before":5.0,"limit":100000})");
  EXPECT_EQ(std::get<history_request>(m).before, 5U);
  EXPECT_EQ(std::get<history_request>(m).limit, max_history_page); // clamped
}

TEST(protocol, every_error_case) {
  expect_error("", "invalid_json");
  expect_error("not json", "invalid_json");
  expect_error(R"({"type":"message","text":"unterminated)", "invalid_json");
  expect_error(R"({"type":"message"} trailing)", "invalid_json");
  expect_error(R"([1,2,3])", "invalid_json");
  expect_error(R"("a string")", "invalid_json");
  expect_error("42", "invalid_json");
  expect_error(std::string(100, '[') + std::string(100, ']'), "invalid_json"); // too deep
  expect_error(R"({})", "invalid_field");
  expect_error(R"({"text":"no type"})", "invalid_field");
  expect_error(R"({"type":7})", "invalid_field");
  expect_error(R"({"type":null})", "invalid_field");
  expect_error(R"({"type":"message"})", "invalid_field");
  expect_error(R"({"type":"message","text":5})", "invalid_field");
  expect_error(R"({"type":"message","text":null})", "invalid_field");
  expect_error(R"({"type":"message","text":["a"]})", "invalid_field");
  expect_error(R"({"type":"history","before":-1})", "invalid_field");
  expect_error(R"({"type":"history","before":"41"})", "invalid_field");
  expect_error(R"({"type":"history","before":1.5})", "invalid_field");
  expect_error(R"({"type":"history","limit":0})", "invalid_field");
  expect_error(R"({"type":"history","limit":true})", "invalid_field");
  auto const e = expect_error(R"({"type":"shout","text":"x"})", "unknown_type");
  EXPECT_NE(e.reason.find("shout"), std::string::npos);
  expect_error(R"({"type":"MESSAGE","text":"x"})", "unknown_type");
}

TEST(protocol, renders_valid_json_events) {
  member_info const from{"id\"1", "N\u00e4me <x>"};
  auto const m = json::parse(render_message(7, 1700000000123, from, "line1\nline2 \"q\" \\ \x01")).as_object();
  EXPECT_EQ(m.at("type"), "message");
  EXPECT_EQ(m.at("seq"), 7);
  EXPECT_EQ(m.at("ts"), 1700000000123);
  EXPECT_EQ(m.at("from").at("id"), "id\"1");
  EXPECT_EQ(m.at("from").at("name"), "N\u00e4me <x>");
  EXPECT_EQ(m.at("text"), "line1\nline2 \"q\" \\ \x01");

  auto const j = json::parse(render_presence("join", 5, from)).as_object();
  EXPECT_EQ(j.at("type"), "join");
  EXPECT_EQ(j.at("member").at("id"), "id\"1");

  auto const err = json::parse(render_error("invalid_json", "bad \"thing\"")).as_object();
  EXPECT_EQ(err.at("type"), "error");
  EXPECT_EQ(err.at("code"), "invalid_json");
  EXPECT_EQ(err.at("reason"), "bad \"thing\"");

  auto const msg = render_message(1, 2, from, "x");
  std::vector<std::string const*> const history{&msg, &msg};
  auto const h = json::parse(render_history(history)).as_object();
  EXPECT_EQ(h.at("messages").as_array().size(), 2U);
  EXPECT_EQ(json::parse(render_history({})).at("messages").as_array().size(), 0U);

  member_info const other{"o", "other"};
  std::vector<member_info const*> const members{&other, &from};
  auto const w = json::parse(render_welcome({from, "room", "ep", members, history, 9, true})).as_object();
  EXPECT_EQ(w.at("type"), "welcome");
  EXPECT_EQ(w.at("members").as_array().size(), 2U);
  EXPECT_EQ(w.at("history").as_array().size(), 2U);
  EXPECT_EQ(w.at("seq"), 9);
  EXPECT_EQ(w.at("resumed"), true);
  EXPECT_EQ(w.at("epoch"), "ep");
}

TEST(protocol, subprotocol_offers) {
  EXPECT_TRUE(offers_json_subprotocol("crier.v1"));
  EXPECT_TRUE(offers_json_subprotocol("chat, crier.v1"));
  EXPECT_TRUE(offers_json_subprotocol(" crier.v1 ,other"));
  EXPECT_FALSE(offers_json_subprotocol(""));
  EXPECT_FALSE(offers_json_subprotocol("crier.v2"));
  EXPECT_FALSE(offers_json_subprotocol("crier.v1x, chat"));
}

TEST(query, parameters) {
  EXPECT_EQ(query_param("/ws/x?name=ann&since=4", "name"), "ann");
  EXPECT_EQ(query_param("/ws/x?name=ann&since=4", "since"), "4");
  EXPECT_EQ(query_param("/ws/x?name=J%C3%BCrgen+M", "name"), "J\xc3\xbcrgen M");
  EXPECT_EQ(query_param("/ws/x?name=", "name"), "");
  EXPECT_EQ(query_param("/ws/x?name", "name"), "");
  EXPECT_FALSE(query_param("/ws/x?name=%zz", "name"));
  EXPECT_FALSE(query_param("/ws/x", "name"));
  EXPECT_FALSE(query_param("/ws/x?names=a", "name"));
  EXPECT_TRUE(has_query_param("/ws/x?name=%zz", "name"));
  EXPECT_FALSE(has_query_param("/ws/x?a=1#name=2", "name"));
}

TEST(protocol, refresh_requests_and_the_user_of_members) {
  auto const r = decode_client_message(R"({"type":"refresh","token":"a.b.c"})");
  ASSERT_TRUE(std::holds_alternative<refresh_request>(r));
  EXPECT_EQ(std::get<refresh_request>(r).token, "a.b.c");
  EXPECT_TRUE(std::holds_alternative<protocol_error>(decode_client_message(R"({"type":"refresh"})")));
  EXPECT_TRUE(std::holds_alternative<protocol_error>(decode_client_message(R"({"type":"refresh","token":1})")));
  EXPECT_EQ(render_refreshed(1700000000), R"({"type":"refreshed","exp":1700000000})");
  EXPECT_EQ(render_refreshed(std::nullopt), R"({"type":"refreshed","exp":null})");
  member_info const guest{"g1", "guest"}, ann{"a1", "Ann", "user-ann"};
  EXPECT_EQ(render_presence("join", 5, guest), R"({"type":"join","ts":5,"member":{"id":"g1","name":"guest"}})");
  EXPECT_EQ(render_presence("join", 5, ann),
            R"({"type":"join","ts":5,"member":{"id":"a1","name":"Ann","user":"user-ann"}})");
}

} // namespace
} // namespace crier
