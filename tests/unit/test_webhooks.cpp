// The webhooks' pure parts: the signature (a known HMAC vector), the body's wire format, the
// bounded queue (drop-oldest, acknowledgement, wake-ups), the retry delay's bounds, and what a
// single-node room reports.
#include "server/events/webhook_event.hpp"
#include "server/events/webhook_queue.hpp"
#include "server/events/webhook_sender.hpp"
#include "server/events/webhook_signature.hpp"
#include "server/metrics.hpp"
#include "server/rooms/room.hpp"
#include "tests/unit/fake_member.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace crier {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using namespace crier::test;

TEST(webhook_signature, hmac_sha256_matches_rfc_4231) {
  // RFC 4231 test case 2.
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(webhook_signature, covers_the_timestamp_and_the_body) {
  auto const sig = webhook_signature("s3cret", 1700000000, R"({"events":[]})");
  EXPECT_EQ(sig, "sha256=" + hmac_sha256_hex("s3cret", R"(1700000000.{"events":[]})"));
  EXPECT_NE(sig, webhook_signature("s3cret", 1700000001, R"({"events":[]})"));
  EXPECT_NE(sig, webhook_signature("other", 1700000000, R"({"events":[]})"));
}

room_event event(event_type t, std::string room = "lobby") { return {t, std::move(room), 1700000000123, {}, 0, {}}; }

TEST(webhook_event, renders_each_type_with_its_fields) {
  std::vector<numbered_event> const events{
    {1, {event_type::join, "lobby", 5, {"m1", "Ann \"A\"", "ann"}, 0, {}}},
    {2, {event_type::message, "lobby", 6, {"m1", "Ann", {}}, 42, text("hi\n")}},
    {3, {event_type::message, "lobby", 7, {"m1", "Ann", {}}, 0, text("no seq")}},
    {4, event(event_type::room_vacated)},
  };
  auto const body = render_webhook_body("b00t", events);
  auto const parsed = json::parse(body).as_object();
  auto const& list = parsed.at("events").as_array();
  ASSERT_EQ(list.size(), 4U);
  EXPECT_EQ(json::parse(R"({"id":"b00t-1","type":"join","room":"lobby","ts":5,"member":{"id":"m1","name":"Ann \"A\"","user":"ann"}})"),
            list[0]);
  EXPECT_EQ(json::parse(R"({"id":"b00t-2","type":"message","room":"lobby","ts":6,"seq":42,"from":{"id":"m1","name":"Ann"},"text":"hi\n"})"),
            list[1]);
  EXPECT_FALSE(list[2].as_object().contains("seq")); // could not be sequenced
  EXPECT_EQ(json::parse(R"({"id":"b00t-4","type":"room_vacated","room":"lobby","ts":1700000000123})"), list[3]);
  EXPECT_EQ(render_webhook_body("b", {}), R"({"events":[]})");
}

TEST(webhook_queue, drops_the_oldest_past_its_capacity_and_counts_them) {
  metrics m;
  webhook_queue q(default_webhook_events, 3, m);
  for (int i = 0; i < 5; ++i) q.on_event(event(event_type::join, "r" + std::to_string(i)));
  EXPECT_EQ(q.size(), 3U);
  EXPECT_EQ(m.webhook_dropped(), 2U);
  auto const oldest = q.peek(10);
  ASSERT_EQ(oldest.size(), 3U);
  EXPECT_EQ(oldest[0].n, 3U); // events 1 and 2 went
  EXPECT_EQ(oldest[0].e.room, "r2");
  EXPECT_EQ(oldest[2].n, 5U);
}

TEST(webhook_queue, an_acknowledgement_removes_only_what_is_still_queued) {
  metrics m;
  webhook_queue q(default_webhook_events, 3, m);
  for (int i = 0; i < 3; ++i) q.on_event(event(event_type::join));
  auto const batch = q.peek(2); // 1 and 2 in flight
  q.on_event(event(event_type::join)); // 1 is dropped meanwhile
  EXPECT_EQ(q.acknowledge(batch.back().n), 1U); // only 2 was left of the batch
  auto const left = q.peek(10);
  ASSERT_EQ(left.size(), 2U);
  EXPECT_EQ(left[0].n, 3U);
  EXPECT_EQ(left[1].n, 4U);
}

TEST(webhook_queue, wakes_the_sender_once_the_armed_size_is_reached) {
  metrics m;
  webhook_queue q(default_webhook_events, 10, m);
  int wakes = 0;
  q.set_wake([&] { ++wakes; });
  EXPECT_TRUE(q.arm(2));
  q.on_event(event(event_type::join));
  EXPECT_EQ(wakes, 0);
  q.on_event(event(event_type::join));
  EXPECT_EQ(wakes, 1);
  q.on_event(event(event_type::join)); // disarmed by the wake-up
  EXPECT_EQ(wakes, 1);
  EXPECT_FALSE(q.arm(3)); // there already
  q.on_event(event(event_type::join));
  EXPECT_EQ(wakes, 1);
}

TEST(webhook_queue, once_closed_drops_and_counts_everything) {
  metrics m;
  webhook_queue q(default_webhook_events, 10, m);
  q.on_event(event(event_type::join));
  q.on_event(event(event_type::leave));
  EXPECT_EQ(q.close(), 2U);
  q.on_event(event(event_type::join));
  EXPECT_EQ(q.size(), 0U);
  EXPECT_EQ(m.webhook_dropped(), 3U);
}

TEST(webhook_retry_delay, doubles_within_jitter_and_stops_at_the_cap) {
  for (double j : {0.0, 0.5, 0.999}) {
    EXPECT_GE(webhook_retry_delay(100ms, 0, j), 50ms);
    EXPECT_LE(webhook_retry_delay(100ms, 0, j), 100ms);
    EXPECT_GE(webhook_retry_delay(100ms, 3, j), 400ms);
    EXPECT_LE(webhook_retry_delay(100ms, 3, j), 800ms);
    // 64 times the base at most...
    EXPECT_LE(webhook_retry_delay(100ms, 40, j), 6400ms);
    EXPECT_GE(webhook_retry_delay(100ms, 40, j), 3200ms);
    // ... and never more than a minute, nor less than half the base.
    EXPECT_LE(webhook_retry_delay(10s, 40, j), 60s);
    EXPECT_GE(webhook_retry_delay(2min, 40, j), 1min);
  }
  EXPECT_EQ(webhook_retry_delay(100ms, 0, 0.0), 50ms);
  EXPECT_EQ(webhook_retry_delay(100ms, 0, 1.0), 100ms);
}

// What rooms report, recorded.
struct recording_events final : room_events {
  event_set wanted = {event_type::join, event_type::leave, event_type::message, event_type::room_occupied,
                      event_type::room_vacated};
  std::vector<room_event> got;
  bool wants(event_type t) const noexcept override { return wanted.contains(t); }
  void on_event(room_event e) override { got.push_back(std::move(e)); }
  std::vector<event_type> types() const {
    std::vector<event_type> out;
    for (auto const& e : got) out.push_back(e.type);
    return out;
  }
};

TEST(webhook_room, a_single_node_room_reports_occupancy_presence_and_messages) {
  recording_events events;
  room r("lobby", 10, "e");
  r.set_events(&events);
  fake_member a(wire_format::raw, "a", "Ann"), b(wire_format::json, "b", "Bob");
  r.join(&a, {});
  r.join(&b, {});
  r.publish_text(a.who, text("hi"));
  r.leave(&a);
  r.leave(&b);
  using enum event_type;
  EXPECT_EQ(events.types(), (std::vector<event_type>{room_occupied, join, join, message, leave, leave, room_vacated}));
  EXPECT_EQ(events.got[1].member.id, "a");
  EXPECT_EQ(events.got[3].seq, 1U);
  EXPECT_EQ(*events.got[3].text, "hi");
  EXPECT_EQ(events.got[3].room, "lobby");
}

TEST(webhook_room, builds_nothing_it_was_not_asked_for) {
  recording_events events;
  events.wanted = {event_type::message};
  room r("lobby", 10, "e");
  r.set_events(&events);
  fake_member a;
  r.join(&a, {});
  r.publish_text(a.who, text("one"));
  r.leave(&a);
  ASSERT_EQ(events.got.size(), 1U);
  EXPECT_EQ(events.got[0].type, event_type::message);
}

} // namespace
} // namespace crier
