// Big rooms over real sockets: past --presence-threshold, joins and leaves become counted
// presence events, the welcome is capped, and the member list is paged (WebSocket and HTTP).
#include "tests/support/crier_process.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace crier::test {
namespace {

namespace json = boost::json;

// Joins `name` to /ws/<room> and reads its welcome.
struct member {
  std::unique_ptr<json_client> client;
  json::object welcome;
};
member join(std::uint16_t port, std::string const& room, std::string const& name) {
  member m{std::make_unique<json_client>(port, "/ws/" + room + "?name=" + name), {}};
  m.welcome = m.client->next();
  EXPECT_EQ(m.welcome.at("type"), "welcome");
  return m;
}

TEST(presence, a_room_past_the_threshold_counts_joins_and_caps_the_welcome) {
  crier_process server({"--presence-threshold", "3"});
  std::vector<member> members;
  for (auto const* name : {"ann", "bob", "cat"}) members.push_back(join(server.port(), "big", name));
  // Up to the threshold: one join event per member, to everyone already in.
  EXPECT_EQ(members[0].client->next_of("join").at("member").at("name"), "bob");
  EXPECT_EQ(members[0].client->next_of("join").at("member").at("name"), "cat");
  EXPECT_EQ(members[2].welcome.at("members").as_array().size(), 3U);
  EXPECT_EQ(members[2].welcome.at("member_count"), 3);

  // Two more take the room past it: no join events, one presence event with the counts.
  members.push_back(join(server.port(), "big", "dan"));
  members.push_back(join(server.port(), "big", "eve"));
  auto const& eve = members.back().welcome;
  EXPECT_EQ(eve.at("member_count"), 5);
  auto const& listed = eve.at("members").as_array();
  ASSERT_EQ(listed.size(), 3U); // capped at the threshold
  EXPECT_EQ(listed.back().at("name"), "eve"); // the joiner last

  // ann sees presence events (no join): together they count dan and eve, and the last says 5.
  std::int64_t joined = 0;
  json::object event;
  while (joined < 2) {
    event = members[0].client->next(3s);
    ASSERT_EQ(event.at("type"), "presence") << json::serialize(event);
    joined += event.at("joined").as_int64();
    EXPECT_EQ(event.at("left"), 0);
    EXPECT_FALSE(event.contains("members"));
  }
  EXPECT_EQ(joined, 2);
  EXPECT_EQ(event.at("count"), 5);

  // Two leave: the room is back at the threshold, and the presence event carries the full list.
  members[3].client->close();
  members[4].client->close();
  std::int64_t left = 0;
  while (left < 2) {
    event = members[0].client->next(3s);
    ASSERT_EQ(event.at("type"), "presence") << json::serialize(event);
    left += event.at("left").as_int64();
  }
  EXPECT_EQ(event.at("count"), 3);
  ASSERT_TRUE(event.contains("members")) << json::serialize(event);
  std::set<std::string> names;
  for (auto const& m : event.at("members").as_array()) names.insert(std::string(m.at("name").as_string()));
  EXPECT_EQ(names, (std::set<std::string>{"ann", "bob", "cat"}));

  // Small again: leaves and joins are told one by one once more.
  members[2].client->close();
  auto const leave = members[0].client->next();
  EXPECT_EQ(leave.at("type"), "leave");
  EXPECT_EQ(leave.at("member").at("name"), "cat");
  members.push_back(join(server.port(), "big", "fay"));
  auto const joined_again = members[0].client->next();
  EXPECT_EQ(joined_again.at("type"), "join");
  EXPECT_EQ(joined_again.at("member").at("name"), "fay");
}

TEST(presence, the_members_request_pages_in_id_order_and_filters_by_name) {
  crier_process server({"--presence-threshold", "2"});
  std::vector<member> members;
  for (auto const* name : {"ann", "Annie", "bob", "joanna", "zed"}) members.push_back(join(server.port(), "paged", name));
  auto& asker = *members[2].client;

  // Every member, two at a time, by following `next`.
  std::vector<std::string> ids;
  json::value after = nullptr;
  for (int page = 0; page < 10; ++page) {
    std::string request = R"({"type":"members","limit":2)";
    if (!after.is_null()) request += R"(,"after":)" + json::serialize(after);
    asker.send_json(request + "}");
    auto const reply = asker.next_of("members");
    EXPECT_EQ(reply.at("count"), 5);
    auto const& got = reply.at("members").as_array();
    EXPECT_LE(got.size(), 2U);
    for (auto const& m : got) ids.push_back(std::string(m.at("id").as_string()));
    after = reply.at("next");
    if (after.is_null()) break;
  }
  ASSERT_EQ(ids.size(), 5U);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 5U);

  // `q` matches names ASCII case-insensitively.
  asker.send_json(R"({"type":"members","q":"ANN"})");
  auto const found = asker.next_of("members");
  std::set<std::string> names;
  for (auto const& m : found.at("members").as_array()) names.insert(std::string(m.at("name").as_string()));
  EXPECT_EQ(names, (std::set<std::string>{"ann", "Annie", "joanna"}));
  EXPECT_TRUE(found.at("next").is_null());

  // A bad field is an error event, and the connection stays open.
  asker.send_json(R"({"type":"members","limit":0})");
  auto const error = asker.next_of("error");
  EXPECT_EQ(error.at("code"), "invalid_field");
  asker.send_json(R"({"type":"members","after":5})");
  EXPECT_EQ(asker.next_of("error").at("code"), "invalid_field");
  asker.say("still here");
  EXPECT_EQ(asker.next_of("message").at("text"), "still here");
}

TEST(presence, the_http_room_view_pages_too) {
  crier_process server({"--presence-threshold", "2"});
  std::vector<member> members;
  for (auto const* name : {"ann", "bob", "cat"}) members.push_back(join(server.port(), "web", name));

  auto const whole = http_get(server.port(), "/api/rooms/web");
  ASSERT_EQ(whole.response.result_int(), 200);
  auto const all = json::parse(whole.response.body()).as_object();
  EXPECT_EQ(all.at("count"), 3);
  EXPECT_EQ(all.at("members").as_array().size(), 3U);
  EXPECT_FALSE(all.contains("next"));

  auto const first = json::parse(http_get(server.port(), "/api/rooms/web?limit=2").response.body()).as_object();
  EXPECT_EQ(first.at("members").as_array().size(), 2U);
  ASSERT_TRUE(first.at("next").is_string());
  auto const second = json::parse(http_get(server.port(), "/api/rooms/web?limit=2&after=" +
                                                              std::string(first.at("next").as_string()))
                                      .response.body())
                        .as_object();
  EXPECT_EQ(second.at("members").as_array().size(), 1U);
  EXPECT_TRUE(second.at("next").is_null());
  EXPECT_EQ(second.at("count"), 3);

  auto const named = json::parse(http_get(server.port(), "/api/rooms/web?q=b").response.body()).as_object();
  ASSERT_EQ(named.at("members").as_array().size(), 1U);
  EXPECT_EQ(named.at("members").as_array()[0].at("name"), "bob");

  for (auto const* bad : {"limit=0", "limit=x", "limit=-1", "limit="}) {
    auto const r = http_get(server.port(), std::string("/api/rooms/web?") + bad);
    EXPECT_EQ(r.response.result_int(), 400) << bad;
    EXPECT_NE(r.response.body().find("invalid limit"), std::string::npos) << bad;
  }
  // A huge limit is taken as the largest page.
  EXPECT_EQ(http_get(server.port(), "/api/rooms/web?limit=99999999999999999999999").response.result_int(), 200);
}

TEST(presence, a_bad_threshold_is_refused_at_start) {
  for (auto const* bad : {"0", "-1", "x"}) {
    auto const r = crier_process::run_to_exit({"--presence-threshold", bad});
    EXPECT_NE(r.status, 0) << bad;
    EXPECT_NE(r.err.find("--presence-threshold"), std::string::npos) << bad << ": " << r.err;
  }
}

} // namespace
} // namespace crier::test
