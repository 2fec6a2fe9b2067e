// The room's fan-out with fake members: one shared buffer for everyone, nothing after leaving.
#include "server/room.hpp"
#include "server/room_registry.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace crier {
namespace {

struct fake_member final : room_member {
  std::vector<frame> received;
  std::vector<std::uint16_t> closes;
  void deliver(frame const& f) override { received.push_back(f); }
  void close(std::uint16_t code, std::string_view) override { closes.push_back(code); }
};

TEST(room, delivers_to_every_member_including_the_sender) {
  room r("lobby");
  fake_member a, b, c;
  r.join(&a);
  r.join(&b);
  r.join(&c);
  auto const f = make_frame("hello", false);
  r.publish(f);
  for (auto* m : {&a, &b, &c}) {
    ASSERT_EQ(m->received.size(), 1U);
    EXPECT_EQ(*m->received[0].payload, "hello");
    EXPECT_FALSE(m->received[0].binary);
  }
}

TEST(room, every_member_shares_the_one_buffer) {
  room r("lobby");
  fake_member a, b, c;
  for (auto* m : {&a, &b, &c}) r.join(m);
  auto const f = make_frame(std::string(1000, 'x'), true);
  r.publish(f);
  EXPECT_EQ(a.received[0].payload.get(), f.payload.get());
  EXPECT_EQ(b.received[0].payload.get(), f.payload.get());
  EXPECT_EQ(c.received[0].payload.get(), f.payload.get());
  EXPECT_EQ(f.payload.use_count(), 4); // the publisher's and three queue entries: no copies
  EXPECT_TRUE(a.received[0].binary);
}

TEST(room, a_member_that_leaves_gets_nothing_more) {
  room r("lobby");
  fake_member a, b;
  r.join(&a);
  r.join(&b);
  r.publish(make_frame("one", false));
  EXPECT_FALSE(r.leave(&a));
  r.publish(make_frame("two", false));
  ASSERT_EQ(a.received.size(), 1U);
  ASSERT_EQ(b.received.size(), 2U);
  EXPECT_EQ(*b.received[1].payload, "two");
  EXPECT_TRUE(r.leave(&b));
  EXPECT_EQ(r.size(), 0U);
}

TEST(room, concurrent_publishers_give_every_member_the_same_order) {
  room r("lobby");
  fake_member a, b;
  r.join(&a);
  r.join(&b);
  auto publish_many = [&](char tag) {
    for (int i = 0; i < 2000; ++i) r.publish(make_frame(std::string(1, tag) + std::to_string(i), false));
  };
  std::thread t1(publish_many, 'x');
  std::thread t2(publish_many, 'y');
  t1.join();
  t2.join();
  ASSERT_EQ(a.received.size(), 4000U);
  ASSERT_EQ(b.received.size(), 4000U);
  for (std::size_t i = 0; i < a.received.size(); ++i) ASSERT_EQ(a.received[i].payload, b.received[i].payload);
}

TEST(room_registry, creates_rooms_on_join_and_removes_them_with_the_last_member) {
  room_registry rooms;
  fake_member a, b;
  auto r1 = rooms.join("one", &a);
  auto r2 = rooms.join("two", &b);
  ASSERT_TRUE(r1 && r2);
  EXPECT_NE(r1, r2);
  EXPECT_EQ(rooms.room_count(), 2U);
  r1->publish(make_frame("only one", false));
  EXPECT_EQ(a.received.size(), 1U);
  EXPECT_TRUE(b.received.empty()); // rooms are isolated
  rooms.leave(r1, &a);
  EXPECT_EQ(rooms.room_count(), 1U);
  auto again = rooms.join("two", &a);
  EXPECT_EQ(again, r2);
}

TEST(room_registry, drain_closes_every_member_and_refuses_new_joins) {
  room_registry rooms;
  fake_member a, b, late;
  rooms.join("one", &a);
  rooms.join("two", &b);
  rooms.drain(1001, "going away");
  EXPECT_EQ(a.closes, std::vector<std::uint16_t>{1001});
  EXPECT_EQ(b.closes, std::vector<std::uint16_t>{1001});
  EXPECT_EQ(rooms.join("one", &late), nullptr);
}

} // namespace
} // namespace crier
