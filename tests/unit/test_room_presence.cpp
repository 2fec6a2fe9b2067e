// Big-room presence: past the threshold, joins and leaves (local and remote) are
// counted and sent as one presence event per flush; the welcome's member list is capped; the
// member list is paged in id order; a room that shrinks back gets the full list once.
#include "server/rooms/room.hpp"
#include "server/rooms/room_registry.hpp"
#include "tests/unit/fake_member.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace crier {
namespace {

namespace json = boost::json;
using namespace crier::test;

std::string id_of(int i) {
  std::string s = std::to_string(i);
  return std::string(12 - s.size(), '0') + s;
}

std::vector<std::unique_ptr<fake_member>> make_members(int n, int first = 0) {
  std::vector<std::unique_ptr<fake_member>> out;
  for (int i = first; i < first + n; ++i)
    out.push_back(std::make_unique<fake_member>(wire_format::json, id_of(i), "user" + std::to_string(i)));
  return out;
}

TEST(room_presence, small_rooms_keep_join_and_leave_events_and_full_welcomes) {
  room r("small", 0, "e");
  r.set_presence_threshold(3);
  auto ms = make_members(3);
  for (auto& m : ms) r.join(m.get(), {});
  auto const w = ms[2]->event(0);
  EXPECT_EQ(w.at("members").as_array().size(), 3U);
  EXPECT_EQ(w.at("member_count").as_int64(), 3);
  ASSERT_EQ(ms[0]->received.size(), 3U); // welcome, two joins
  EXPECT_EQ(ms[0]->event(1).at("type"), "join");
  EXPECT_FALSE(r.presence_pending());
}

TEST(room_presence, past_the_threshold_presence_is_counted_and_flushed_as_one_event) {
  room r("big", 0, "e");
  r.set_presence_threshold(3);
  auto ms = make_members(10);
  for (auto& m : ms) r.join(m.get(), {});
  // Members 0-2 heard the joins of 1 and 2 one by one; from the 4th on, nothing until the flush.
  EXPECT_EQ(ms[0]->received.size(), 3U);
  EXPECT_TRUE(r.presence_pending());
  auto const w = ms[9]->event(0);
  EXPECT_EQ(w.at("member_count").as_int64(), 10);
  ASSERT_EQ(w.at("members").as_array().size(), 3U); // capped at the threshold, the joiner last
  EXPECT_EQ(w.at("members").as_array().back().at("id").as_string(), id_of(9));
  r.leave(ms[9].get());

  r.flush_presence();
  EXPECT_FALSE(r.presence_pending());
  for (int i = 0; i < 9; ++i) {
    auto const p = ms[static_cast<std::size_t>(i)]->event(ms[static_cast<std::size_t>(i)]->received.size() - 1);
    EXPECT_EQ(p.at("type"), "presence");
    EXPECT_EQ(p.at("count").as_int64(), 9);
    EXPECT_EQ(p.at("joined").as_int64(), 7); // members 3..9
    EXPECT_EQ(p.at("left").as_int64(), 1);
    EXPECT_FALSE(p.contains("members"));
  }
  // One frame for everyone, and nothing more on a second flush.
  EXPECT_EQ(ms[0]->received.back().payload.get(), ms[8]->received.back().payload.get());
  auto const before = ms[0]->received.size();
  r.flush_presence();
  EXPECT_EQ(ms[0]->received.size(), before);
}

TEST(room_presence, the_events_sent_grow_with_flushes_not_with_members_squared) {
  room r("crowd", 0, "e");
  r.set_presence_threshold(10);
  auto ms = make_members(2000);
  for (std::size_t i = 0; i < ms.size(); ++i) {
    r.join(ms[i].get(), {});
    if (i % 500 == 499) r.flush_presence();
  }
  // 45 join events among the first 10 members, then one presence event per member per flush.
  EXPECT_LT(r.presence_sent(), 45U + 500U + 1000U + 1500U + 2000U + 1U);
}

TEST(room_presence, remote_members_are_counted_too) {
  room r("mixed", 0, "e");
  r.set_presence_threshold(2);
  auto ms = make_members(2);
  for (auto& m : ms) r.join(m.get(), {});
  ms[0]->received.clear();
  r.remote_join({"r1", "remote1"});
  r.remote_join({"r2", "remote2"});
  std::vector<member_info> remote{{"r2", "remote2"}, {"r3", "remote3"}, {"r4", "remote4"}};
  r.set_remote_members(remote);
  EXPECT_TRUE(ms[0]->received.empty());
  r.flush_presence();
  ASSERT_EQ(ms[0]->received.size(), 1U);
  auto const p = ms[0]->event(0);
  EXPECT_EQ(p.at("count").as_int64(), 5);
  EXPECT_EQ(p.at("joined").as_int64(), 4); // r1, r2, r3, r4
  EXPECT_EQ(p.at("left").as_int64(), 1);   // r1
}

TEST(room_presence, a_room_back_under_the_threshold_gets_the_full_list_then_join_and_leave) {
  room r("shrinks", 0, "e");
  r.set_presence_threshold(3);
  auto ms = make_members(5);
  for (auto& m : ms) r.join(m.get(), {});
  r.leave(ms[4].get());
  r.leave(ms[3].get());
  r.flush_presence();
  auto const p = ms[0]->event(ms[0]->received.size() - 1);
  EXPECT_EQ(p.at("type"), "presence");
  EXPECT_EQ(p.at("count").as_int64(), 3);
  ASSERT_TRUE(p.contains("members"));
  EXPECT_EQ(p.at("members").as_array().size(), 3U);
  r.leave(ms[2].get());
  EXPECT_EQ(ms[0]->event(ms[0]->received.size() - 1).at("type"), "leave");
}

TEST(room_presence, members_are_paged_in_id_order_and_searchable) {
  room r("paged", 0, "e");
  r.set_presence_threshold(5);
  auto ms = make_members(25);
  for (auto it = ms.rbegin(); it != ms.rend(); ++it) r.join(it->get(), {}); // joined out of id order
  r.remote_join({id_of(99), "far away"});
  std::vector<std::string> seen;
  members_request req;
  req.limit = 10;
  for (int pages = 0; pages < 10; ++pages) {
    auto const page = json::parse(*r.members_page(req).payload).as_object();
    EXPECT_EQ(page.at("type"), "members");
    EXPECT_EQ(page.at("count").as_int64(), 26);
    for (auto const& m : page.at("members").as_array()) seen.emplace_back(m.at("id").as_string());
    if (page.at("next").is_null()) break;
    req.after = std::string(page.at("next").as_string());
  }
  ASSERT_EQ(seen.size(), 26U);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(seen.back(), id_of(99));

  members_request search;
  search.query = "USER2"; // user2, user20..user24
  auto const found = json::parse(*r.members_page(search).payload).as_object();
  EXPECT_EQ(found.at("members").as_array().size(), 6U);
  EXPECT_TRUE(found.at("next").is_null());
}

TEST(room_presence, the_registry_flushes_its_big_rooms) {
  // The ticker runs with an interval this test never reaches (the fake members are not
  // thread-safe); the integration test sees the real ticker's events. Destroying the registry
  // stops the ticker at once.
  room_settings settings;
  settings.presence_threshold = 1;
  settings.presence_interval = std::chrono::hours(1);
  room_registry reg(settings);
  auto ms = make_members(3);
  auto r = reg.join("ticked", ms[0].get()).joined;
  reg.join("ticked", ms[1].get());
  reg.join("ticked", ms[2].get());
  reg.flush_presence();
  EXPECT_FALSE(r->presence_pending());
  bool saw = false;
  for (std::size_t i = 0; i < ms[0]->received.size(); ++i) saw = saw || ms[0]->event(i).at("type") == "presence";
  EXPECT_TRUE(saw);
}

} // namespace
} // namespace crier
