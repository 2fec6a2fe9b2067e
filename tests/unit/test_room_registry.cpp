// The room registry: rooms made on join and kept apart, empty rooms kept for their history
// until a TTL or a count, the room limit, and the drain at shutdown.
#include "server/rooms/room_registry.hpp"
#include "tests/unit/fake_member.hpp"

#include <gtest/gtest.h>

namespace crier {
namespace {

using namespace crier::test;
using namespace std::chrono_literals;

TEST(room_registry, creates_rooms_on_join_and_isolates_them) {
  room_registry rooms({.history = 0});
  fake_member a, b;
  auto r1 = rooms.join("one", &a).joined;
  auto r2 = rooms.join("two", &b).joined;
  ASSERT_TRUE(r1 && r2);
  EXPECT_NE(r1, r2);
  EXPECT_EQ(rooms.room_count(), 2U);
  r1->publish_text(alice, text("only one"));
  EXPECT_EQ(a.received.size(), 1U);
  EXPECT_TRUE(b.received.empty());
  rooms.leave(r1, &a);
  EXPECT_EQ(rooms.room_count(), 1U); // without history an empty room goes at once
  EXPECT_EQ(rooms.join("two", &a).joined, r2);
}

TEST(room_registry, keeps_an_empty_rooms_history_until_its_ttl) {
  room_registry rooms({.history = 10, .empty_room_ttl = 60s, .max_empty_rooms = 100});
  fake_member a;
  auto r = rooms.join("kept", &a).joined;
  r->publish_text(alice, text("remember me"));
  rooms.leave(r, &a);
  EXPECT_EQ(rooms.room_count(), 1U);
  EXPECT_TRUE(rooms.list().empty()); // listed rooms have members
  auto const now = std::chrono::steady_clock::now();
  EXPECT_EQ(rooms.sweep(now + 30s), 0U);
  fake_member js(wire_format::json);
  auto again = rooms.join("kept", &js).joined;
  EXPECT_EQ(again, r);
  EXPECT_EQ(js.event(0).at("history").as_array().size(), 1U);
  rooms.leave(again, &js);
  EXPECT_EQ(rooms.sweep(std::chrono::steady_clock::now() + 61s), 1U);
  EXPECT_EQ(rooms.room_count(), 0U);
}

TEST(room_registry, drops_the_longest_empty_rooms_past_the_count) {
  room_registry rooms({.history = 10, .empty_room_ttl = 3600s, .max_empty_rooms = 2});
  fake_member m;
  for (auto const* name : {"r1", "r2", "r3"}) {
    auto r = rooms.join(name, &m).joined;
    rooms.leave(r, &m);
  }
  EXPECT_EQ(rooms.room_count(), 2U);
  EXPECT_EQ(rooms.find("r1"), nullptr); // emptied first, dropped first
  EXPECT_NE(rooms.find("r3"), nullptr);
}

TEST(room_registry, drain_closes_every_member_and_refuses_new_joins) {
  room_registry rooms;
  fake_member a, b, late;
  rooms.join("one", &a).joined;
  rooms.join("two", &b).joined;
  rooms.drain(1001, "going away");
  EXPECT_EQ(a.closes, std::vector<std::uint16_t>{1001});
  EXPECT_EQ(b.closes, std::vector<std::uint16_t>{1001});
  EXPECT_EQ(rooms.join("one", &late).joined, nullptr);
}

TEST(room_registry, refuses_a_new_room_past_max_rooms_but_not_an_existing_one) {
  room_registry rooms({.history = 0, .max_rooms = 2});
  fake_member a, b, c, d;
  EXPECT_TRUE(rooms.join("one", &a).joined);
  EXPECT_TRUE(rooms.join("two", &b).joined);
  auto const refused = rooms.join("three", &c);
  EXPECT_FALSE(refused.joined);
  EXPECT_EQ(refused.why, room_registry::refusal::too_many_rooms);
  EXPECT_TRUE(rooms.join("one", &d).joined); // joining an existing room is fine
}

TEST(room_registry, an_empty_room_kept_for_history_makes_way_for_a_new_one) {
  room_registry rooms({.history = 10, .empty_room_ttl = std::chrono::hours(1), .max_empty_rooms = 10, .max_rooms = 1});
  fake_member a, b;
  auto r = rooms.join("old", &a).joined;
  rooms.leave(r, &a);
  EXPECT_TRUE(rooms.join("new", &b).joined);
  EXPECT_EQ(rooms.find("old"), nullptr);
}

} // namespace
} // namespace crier
