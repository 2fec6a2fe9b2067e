// The room with fake members: one shared buffer per wire format, presence, welcome, history,
// resume, nothing after leaving, and (with an uplink) the cluster replica.
#include "server/rooms/room.hpp"
#include "tests/unit/fake_member.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <thread>

namespace crier {
namespace {

namespace json = boost::json;
using namespace crier::test;

TEST(room, delivers_to_every_member_including_the_sender) {
  room r("lobby", 0, "e");
  fake_member a, b, c;
  for (auto* m : {&a, &b, &c}) r.join(m, {});
  r.publish_text(alice, text("hello"));
  for (auto* m : {&a, &b, &c}) {
    ASSERT_EQ(m->received.size(), 1U);
    EXPECT_EQ(*m->received[0].payload, "hello");
    EXPECT_FALSE(m->received[0].binary);
  }
}

TEST(room, event_streams_share_one_sse_rendering_per_broadcast) {
  room r("lobby", 0, "e");
  fake_member j(wire_format::json);
  r.join(&j, {});
  r.publish_text(alice, text("before"));
  EXPECT_FALSE(j.received.back().sse) << "no place for a rendering nobody needs";

  fake_member s1(wire_format::json), s2(wire_format::json), raw;
  s1.streams = s2.streams = true;
  for (auto* m : {&s1, &s2, &raw}) r.join(m, {});
  for (auto* m : {&j, &s1, &s2, &raw}) m->received.clear();
  r.publish_text(alice, text("hello"));
  ASSERT_TRUE(s1.received.back().sse);
  EXPECT_EQ(s1.received.back().sse.get(), s2.received.back().sse.get());
  EXPECT_EQ(j.received.back().sse.get(), s1.received.back().sse.get()) << "the same frame for every JSON member";
  EXPECT_FALSE(raw.received.back().sse) << "raw text is never an event";
  auto const& f = s1.received.back();
  auto const once = f.sse->get(*f.payload, "e");
  EXPECT_EQ(once.data(), s2.received.back().sse->get(*f.payload, "e").data()) << "rendered once";
  EXPECT_EQ(std::string(once), "event: message\nid: e:2\ndata: " + *f.payload + "\n\n");
  EXPECT_TRUE(f.sse->get(*f.payload, "other").empty()) << "another epoch renders its own";

  r.leave(&s1);
  r.leave(&s2);
  r.publish_text(alice, text("after"));
  EXPECT_FALSE(j.received.back().sse);
}

// A frame's place in its room's compression stream, if it has one.
streamed_deflate const* streamed_of(frame const& f) { return f.deflated ? f.deflated->streamed() : nullptr; }

TEST(room, a_room_streams_its_compression_from_the_threshold_of_members_who_can_follow) {
  room r("lobby", 0, "e");
  r.set_compression_min_size(10);
  r.set_compression_context(1, 3); // a stream from 3 followers of a format, kept down to 2
  fake_member f1, f2, f3, plain, j1(wire_format::json);
  f1.follows = f2.follows = f3.follows = j1.follows = true;
  std::string const line = "a chat message long enough to be worth compressing";
  for (auto* m : {&f1, &f2, &plain, &j1}) r.join(m, {});
  r.publish_text(alice, text(line));
  EXPECT_FALSE(streamed_of(f1.received.back())) << "two followers: each message on its own";
  EXPECT_TRUE(f1.received.back().deflated);
  r.join(&f3, {});
  r.publish_text(alice, text(line + " 1"));
  r.publish_text(alice, text("short"));
  r.publish_text(alice, text(line + " 2"));
  auto const first = f1.received.at(f1.received.size() - 3);
  ASSERT_TRUE(streamed_of(first));
  EXPECT_TRUE(streamed_of(first)->reset) << "a new stream starts with a reset point";
  EXPECT_FALSE(streamed_of(f1.received.at(f1.received.size() - 2))) << "under --compression-min-size: plain, not in the stream";
  auto const second = f1.received.back();
  ASSERT_TRUE(streamed_of(second));
  EXPECT_EQ(streamed_of(second)->index, streamed_of(first)->index + 1);
  EXPECT_EQ(streamed_of(second), streamed_of(plain.received.back())) << "one frame for every raw member";
  EXPECT_FALSE(streamed_of(j1.received.back())) << "one JSON follower: its format has no stream";
  // Down to two followers the stream stays (half the threshold, rounded up); below, it goes.
  r.leave(&f3);
  r.publish_text(alice, text(line + " 3"));
  ASSERT_TRUE(streamed_of(f1.received.back()));
  EXPECT_EQ(streamed_of(f1.received.back())->stream, streamed_of(second)->stream);
  r.leave(&f2);
  r.publish_text(alice, text(line + " 4"));
  EXPECT_FALSE(streamed_of(f1.received.back()));
  r.leave(&f1);
  r.leave(&plain);
  r.leave(&j1);
}

TEST(room, a_room_without_compression_context_never_streams) {
  room r("lobby", 0, "e");
  r.set_compression_min_size(0);
  r.set_compression_context(1, 0);
  fake_member f1, f2;
  f1.follows = f2.follows = true;
  r.join(&f1, {});
  r.join(&f2, {});
  r.publish_text(alice, text("a chat message long enough to be worth compressing"));
  EXPECT_FALSE(streamed_of(f1.received.back()));
  EXPECT_TRUE(f1.received.back().deflated);
  r.leave(&f1);
  r.leave(&f2);
}

TEST(room, every_member_of_a_format_shares_the_one_buffer) {
  room r("lobby", 0, "e");
  fake_member a, b, j1(wire_format::json), j2(wire_format::json);
  for (auto* m : {&a, &b, &j1, &j2}) r.join(m, {});
  j1.received.clear();
  j2.received.clear();
  auto const payload = text(std::string(1000, 'x'));
  r.publish_text(alice, payload);
  EXPECT_EQ(a.received[0].payload.get(), payload.get()); // raw members get the sender's buffer itself
  EXPECT_EQ(b.received[0].payload.get(), payload.get());
  ASSERT_EQ(j1.received.size(), 1U);
  EXPECT_EQ(j1.received[0].payload.get(), j2.received[0].payload.get()); // one JSON render, shared
  EXPECT_EQ(r.json_renders(), 1U);
}

TEST(room, renders_json_once_per_message_however_many_members) {
  room r("big", 0, "e");
  std::vector<std::unique_ptr<fake_member>> members;
  for (int i = 0; i < 500; ++i) {
    members.push_back(std::make_unique<fake_member>(i % 2 ? wire_format::json : wire_format::raw));
    r.join(members.back().get(), {});
  }
  for (int i = 0; i < 10; ++i) r.publish_text(alice, text("m" + std::to_string(i)));
  EXPECT_EQ(r.json_renders(), 10U);
}

TEST(room, raw_only_rooms_render_no_json_until_a_json_member_replays_the_history) {
  room r("raw", 5, "e");
  fake_member raw;
  r.join(&raw, {});
  for (int i = 1; i <= 8; ++i) r.publish_text(alice, text("m" + std::to_string(i)));
  EXPECT_EQ(r.json_renders(), 0U); // nobody speaks JSON: no rendering at all
  fake_member late(wire_format::json, "j1", "jay");
  r.join(&late, {});
  EXPECT_EQ(r.json_renders(), 5U); // the retained five, for the welcome
  auto const history = late.event(0).at("history").as_array();
  ASSERT_EQ(history.size(), 5U);
  EXPECT_EQ(history[0].at("seq"), 4);
  EXPECT_EQ(history[0].at("text"), "m4");
  EXPECT_EQ(history[0].at("from").at("name"), "alice");
  fake_member later(wire_format::json, "j2", "kay");
  r.join(&later, {});
  EXPECT_EQ(r.json_renders(), 5U); // rendered once, replayed twice
  EXPECT_EQ(later.event(0).at("history").as_array(), history);
}

TEST(room, binary_goes_to_both_formats_as_it_is) {
  room r("lobby", 10, "e");
  fake_member raw, js(wire_format::json);
  r.join(&raw, {});
  r.join(&js, {});
  js.received.clear();
  auto const data = text(std::string("\0\1\2", 3));
  r.publish_binary(data);
  ASSERT_EQ(raw.received.size(), 1U);
  EXPECT_TRUE(raw.received[0].binary);
  EXPECT_EQ(raw.received[0].payload.get(), data.get());
  EXPECT_EQ(js.received.at(0).payload.get(), data.get());
  EXPECT_EQ(r.last_seq(), 0U); // binary has no seq
}

TEST(room, message_events_carry_seq_ts_from_and_text) {
  room r("lobby", 10, "e");
  fake_member js(wire_format::json);
  r.join(&js, {});
  r.publish_text(alice, text("one"));
  r.publish_text(alice, text("<b>two</b> \"quoted\""));
  auto const first = js.event(1);
  EXPECT_EQ(first.at("type"), "message");
  EXPECT_EQ(first.at("seq"), 1);
  EXPECT_EQ(first.at("text"), "one");
  EXPECT_EQ(first.at("from").at("id"), "a1");
  EXPECT_EQ(first.at("from").at("name"), "alice");
  EXPECT_GT(first.at("ts").as_int64(), 1'700'000'000'000);
  auto const second = js.event(2);
  EXPECT_EQ(second.at("seq"), 2);
  EXPECT_EQ(second.at("text"), "<b>two</b> \"quoted\"");
}

TEST(room, welcome_comes_first_with_members_and_history) {
  room r("lobby", 3, "ep0ch");
  fake_member raw(wire_format::raw, "r1", "rawley");
  r.join(&raw, {});
  for (int i = 1; i <= 5; ++i) r.publish_text(raw.who, text("m" + std::to_string(i)));
  fake_member js(wire_format::json, "j1", "jay");
  r.join(&js, {});
  ASSERT_EQ(js.received.size(), 1U);
  auto const w = js.event(0);
  EXPECT_EQ(w.at("type"), "welcome");
  EXPECT_EQ(w.at("id"), "j1");
  EXPECT_EQ(w.at("name"), "jay");
  EXPECT_EQ(w.at("room"), "lobby");
  EXPECT_EQ(w.at("epoch"), "ep0ch");
  EXPECT_EQ(w.at("seq"), 5);
  EXPECT_EQ(w.at("resumed"), false);
  auto const& members = w.at("members").as_array();
  ASSERT_EQ(members.size(), 2U);
  EXPECT_EQ(members[0].at("name"), "rawley");
  EXPECT_EQ(members[1].at("name"), "jay");
  auto const& history = w.at("history").as_array();
  ASSERT_EQ(history.size(), 3U); // the ring keeps the last 3
  EXPECT_EQ(history[0].at("seq"), 3);
  EXPECT_EQ(history[2].at("text"), "m5");
  EXPECT_EQ(history[2].at("from").at("name"), "rawley");
}

TEST(room, presence_goes_to_other_json_members_only) {
  room r("lobby", 0, "e");
  fake_member raw, j1(wire_format::json, "j1", "one"), j2(wire_format::json, "j2", "two");
  r.join(&raw, {});
  r.join(&j1, {});
  r.join(&j2, {});
  // j1 heard j2 join; j2 got only its welcome; raw heard nothing.
  ASSERT_EQ(j1.received.size(), 2U);
  EXPECT_EQ(j1.event(1).at("type"), "join");
  EXPECT_EQ(j1.event(1).at("member").at("id"), "j2");
  EXPECT_EQ(j2.received.size(), 1U);
  EXPECT_TRUE(raw.received.empty());
  r.leave(&j2);
  ASSERT_EQ(j1.received.size(), 3U);
  EXPECT_EQ(j1.event(2).at("type"), "leave");
  EXPECT_EQ(j1.event(2).at("member").at("name"), "two");
  EXPECT_TRUE(raw.received.empty());
  EXPECT_EQ(j2.received.size(), 1U);
}

TEST(room, resume_replays_only_what_was_missed) {
  room r("lobby", 10, "E");
  fake_member sender;
  r.join(&sender, {});
  for (int i = 1; i <= 6; ++i) r.publish_text(alice, text("m" + std::to_string(i)));
  fake_member js(wire_format::json);
  r.join(&js, {.since = 4, .epoch = "E"});
  auto const w = js.event(0);
  EXPECT_EQ(w.at("resumed"), true);
  auto const& history = w.at("history").as_array();
  ASSERT_EQ(history.size(), 2U);
  EXPECT_EQ(history[0].at("seq"), 5);
  EXPECT_EQ(history[1].at("seq"), 6);
  // A raw member resuming gets the missed texts verbatim.
  fake_member raw;
  r.join(&raw, {.since = 5, .epoch = std::nullopt});
  ASSERT_EQ(raw.received.size(), 1U);
  EXPECT_EQ(*raw.received[0].payload, "m6");
  // Live messages follow, once.
  r.publish_text(alice, text("m7"));
  EXPECT_EQ(*raw.received.back().payload, "m7");
  EXPECT_EQ(raw.received.size(), 2U);
  EXPECT_EQ(js.event(1).at("type"), "join"); // the raw member's arrival
  EXPECT_EQ(js.event(2).at("seq"), 7);
}

TEST(room, resume_past_the_ring_is_not_complete) {
  room r("lobby", 3, "E");
  fake_member sender;
  r.join(&sender, {});
  for (int i = 1; i <= 10; ++i) r.publish_text(alice, text("m" + std::to_string(i)));
  fake_member js(wire_format::json);
  r.join(&js, {.since = 2, .epoch = "E"});
  auto const w = js.event(0);
  EXPECT_EQ(w.at("resumed"), false); // 3..7 left the ring
  EXPECT_EQ(w.at("history").as_array().size(), 3U);
  EXPECT_EQ(w.at("history").as_array()[0].at("seq"), 8);
}

TEST(room, resume_from_another_epoch_replays_everything_retained) {
  room r("lobby", 10, "NEW");
  fake_member sender;
  r.join(&sender, {});
  r.publish_text(alice, text("after restart"));
  fake_member js(wire_format::json);
  r.join(&js, {.since = 40, .epoch = "OLD"}); // seq 40 of a room that no longer exists
  auto const w = js.event(0);
  EXPECT_EQ(w.at("resumed"), true); // everything of this epoch is still in the ring
  ASSERT_EQ(w.at("history").as_array().size(), 1U);
  EXPECT_EQ(w.at("history").as_array()[0].at("text"), "after restart");
}

TEST(room, history_pages_backwards) {
  room r("lobby", 100, "E");
  fake_member sender;
  r.join(&sender, {});
  for (int i = 1; i <= 30; ++i) r.publish_text(alice, text("m" + std::to_string(i)));
  auto page = json::parse(*r.history_page({.before = std::nullopt, .limit = 10}).payload).as_object();
  EXPECT_EQ(page.at("type"), "history");
  auto messages = page.at("messages").as_array();
  ASSERT_EQ(messages.size(), 10U);
  EXPECT_EQ(messages.front().at("seq"), 21);
  EXPECT_EQ(messages.back().at("seq"), 30);
  page = json::parse(*r.history_page({.before = 21, .limit = 15}).payload).as_object();
  messages = page.at("messages").as_array();
  ASSERT_EQ(messages.size(), 15U);
  EXPECT_EQ(messages.front().at("seq"), 6);
  EXPECT_EQ(messages.back().at("seq"), 20);
  page = json::parse(*r.history_page({.before = 3, .limit = 15}).payload).as_object();
  EXPECT_EQ(page.at("messages").as_array().size(), 2U);
}

TEST(room, a_member_that_leaves_gets_nothing_more) {
  room r("lobby", 0, "e");
  fake_member a, b;
  r.join(&a, {});
  r.join(&b, {});
  r.publish_text(alice, text("one"));
  EXPECT_FALSE(r.leave(&a));
  r.publish_text(alice, text("two"));
  ASSERT_EQ(a.received.size(), 1U);
  ASSERT_EQ(b.received.size(), 2U);
  EXPECT_EQ(*b.received[1].payload, "two");
  EXPECT_TRUE(r.leave(&b));
  EXPECT_EQ(r.size(), 0U);
}

TEST(room, concurrent_publishers_give_every_member_the_same_order_and_consecutive_seqs) {
  room r("lobby", 0, "e");
  fake_member a, b(wire_format::json);
  r.join(&a, {});
  r.join(&b, {});
  b.received.clear();
  auto publish_many = [&](char tag) {
    for (int i = 0; i < 2000; ++i) r.publish_text(alice, text(std::string(1, tag) + std::to_string(i)));
  };
  std::thread t1(publish_many, 'x');
  std::thread t2(publish_many, 'y');
  t1.join();
  t2.join();
  ASSERT_EQ(a.received.size(), 4000U);
  ASSERT_EQ(b.received.size(), 4000U);
  for (std::size_t i = 0; i < a.received.size(); ++i) {
    auto const e = b.event(i);
    ASSERT_EQ(e.at("seq").as_int64(), static_cast<std::int64_t>(i + 1));
    ASSERT_EQ(e.at("text").as_string(), *a.received[i].payload);
  }
}

// An uplink that records what a replica sends towards Redis.
struct recording_uplink final : room_uplink {
  std::vector<std::string> calls;
  void publish_text(std::string const& room, member_info const& from, std::shared_ptr<std::string const> t) override {
    calls.push_back("text " + room + " " + from.id + " " + *t);
  }
  void publish_binary(std::string const& room, member_info const&, std::shared_ptr<std::string const> d) override {
    calls.push_back("binary " + room + " " + *d);
  }
  void publish_once(std::string const& room, member_info const& from, std::shared_ptr<std::string const> t,
                    std::string key, api_publish_done done) override {
    calls.push_back("once " + room + " " + from.id + " " + *t + " " + key);
    done({api_publish_result::outcome::unavailable, 0});
  }
  void joined(std::string const& room, member_info const& m) override { calls.push_back("join " + room + " " + m.id); }
  void left(std::string const& room, member_info const& m) override { calls.push_back("leave " + room + " " + m.id); }
};

TEST(room_replica, text_goes_up_and_comes_back_sequenced_once_rendered_once) {
  recording_uplink up;
  room r("lobby", 10, "e", &up);
  fake_member raw, j1(wire_format::json, "j1", "jo"), j2(wire_format::json, "j2", "jay");
  for (auto* m : {&raw, &j1, &j2}) r.join(m, {});
  j1.received.clear();
  j2.received.clear();
  r.publish_text(alice, text("hi"));
  EXPECT_TRUE(raw.received.empty()); // nothing local until the seq is known
  EXPECT_EQ(up.calls.back(), "text lobby a1 hi");
  r.deliver_sequenced({7, 1000, alice, text("hi")});
  r.deliver_sequenced({7, 1000, alice, text("hi")}); // a duplicate is ignored
  ASSERT_EQ(raw.received.size(), 1U);
  EXPECT_EQ(*raw.received[0].payload, "hi");
  ASSERT_EQ(j1.received.size(), 1U);
  EXPECT_EQ(j1.event(0).at("seq"), 7);
  EXPECT_EQ(j1.received[0].payload.get(), j2.received[0].payload.get());
  EXPECT_EQ(r.json_renders(), 1U);
  EXPECT_EQ(r.last_seq(), 7U);
}

TEST(room_replica, remote_members_are_in_the_welcome_and_announced_once) {
  recording_uplink up;
  room r("lobby", 10, "e", &up);
  fake_member j(wire_format::json, "j", "jo");
  r.join(&j, {});
  EXPECT_EQ(up.calls.back(), "join lobby j");
  r.remote_join({"r1", "remote"});
  r.remote_join({"r1", "remote"});
  ASSERT_EQ(j.received.size(), 2U); // welcome, one join
  EXPECT_EQ(j.event(1).at("type"), "join");
  EXPECT_EQ(r.cluster_size(), 2U);
  EXPECT_EQ(r.size(), 1U);
  fake_member k(wire_format::json, "k", "kay");
  r.join(&k, {});
  EXPECT_EQ(k.event(0).at("members").as_array().size(), 3U);
  r.set_remote_members({{"r2", "other"}}); // r1 went, r2 came
  ASSERT_EQ(j.received.size(), 5U); // + k's join, r1's leave, r2's join
  EXPECT_EQ(j.event(3).at("type"), "leave");
  EXPECT_EQ(j.event(4).at("type"), "join");
  r.remote_leave({"r2", "other"});
  r.remote_leave({"r2", "other"});
  EXPECT_EQ(j.received.size(), 6U);
}

TEST(room_replica, reseed_takes_the_cluster_history_and_skips_gaps) {
  room r("lobby", 10, "local-epoch");
  r.reseed("cluster-epoch", 9, {{3, 1, alice, text("three")}, {5, 2, alice, text("five")}, {9, 3, alice, text("nine")}});
  EXPECT_EQ(r.epoch(), "cluster-epoch");
  EXPECT_EQ(r.last_seq(), 9U);
  fake_member j(wire_format::json);
  r.join(&j, {.since = 4, .epoch = "cluster-epoch"});
  auto const history = j.event(0).at("history").as_array();
  ASSERT_EQ(history.size(), 2U);
  EXPECT_EQ(history[0].at("seq"), 5);
  r.deliver_unsequenced(alice, text("no seq"));
  EXPECT_FALSE(j.event(1).contains("seq"));
  EXPECT_EQ(r.last_seq(), 9U);
}

TEST(room_api, an_idempotency_key_publishes_once_within_the_history_window) {
  room r("lobby", 3, "e");
  fake_member m;
  r.join(&m, {});
  std::vector<api_publish_result> answers;
  auto const record = [&](api_publish_result a) { answers.push_back(a); };
  r.publish_once(alice, text("a"), "k1", record);
  r.publish_once(alice, text("a again"), "k1", record);
  r.publish_once(alice, text("b"), "", record);
  r.publish_once(alice, text("c"), "", record);
  r.publish_once(alice, text("a within the window"), "k1", record); // seq 1 is still among the last 3
  r.publish_once(alice, text("d"), "", record);
  r.publish_once(alice, text("a past the window"), "k1", record); // the last 3 are 2, 3, 4
  ASSERT_EQ(answers.size(), 7u);
  using outcome = api_publish_result::outcome;
  EXPECT_EQ(answers[0].what, outcome::published);
  EXPECT_EQ(answers[1].what, outcome::duplicate);
  EXPECT_EQ(answers[1].seq, 1u);
  EXPECT_EQ(answers[4].what, outcome::duplicate);
  EXPECT_EQ(answers[6].what, outcome::published);
  EXPECT_EQ(answers[6].seq, 5u);
  std::vector<std::string> got;
  for (auto const& f : m.received) got.push_back(*f.payload);
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b", "c", "d", "a past the window"}));
}

TEST(room_api, events_after_pages_oldest_first_and_close_user_closes_only_that_user) {
  room r("lobby", 10, "e");
  fake_member ann(wire_format::json, "1", "Ann"), bob(wire_format::raw, "2", "Bob"), ann2(wire_format::raw, "3", "Ann");
  ann.who.user = ann2.who.user = "ann";
  bob.who.user = "bob";
  for (auto* m : {&ann, &bob, &ann2}) r.join(m, {});
  for (auto const* t : {"one", "two", "three"}) r.publish_text(alice, text(t));
  auto const page = r.events_after(1, 1);
  ASSERT_EQ(page.events.size(), 1u);
  EXPECT_NE(page.events[0]->find(R"("seq":2)"), std::string::npos);
  EXPECT_TRUE(page.more);
  EXPECT_EQ(page.seq, 3u);
  EXPECT_FALSE(r.events_after(2, 5).more);
  EXPECT_EQ(r.close_user("ann", close_disconnected, "disconnected by server"), 2u);
  EXPECT_EQ(ann.closes, (std::vector<std::uint16_t>{4000}));
  EXPECT_EQ(ann2.closes, (std::vector<std::uint16_t>{4000}));
  EXPECT_TRUE(bob.closes.empty());
}

TEST(room_permissions, without_presence_or_history_a_member_sees_neither) {
  room r("lobby", 10, "e");
  fake_member full(wire_format::json, "1", "full");
  r.join(&full, {});
  r.publish_text(alice, text("kept"));
  fake_member quiet(wire_format::json, "2", "quiet");
  quiet.perms = static_cast<permissions>(permission::subscribe);
  r.join(&quiet, {});
  auto const welcome = quiet.event(0);
  EXPECT_EQ(welcome.at("members").as_array().size(), 1u);
  EXPECT_TRUE(welcome.at("history").as_array().empty());
  fake_member other(wire_format::json, "3", "other");
  r.join(&other, {});
  r.leave(&other);
  EXPECT_EQ(quiet.received.size(), 1u) << "no join nor leave for a member without presence";
  EXPECT_EQ(full.received.size(), 1u + 1u + 3u); // welcome, the message, quiet's join, other's join and leave
  fake_member raw;
  raw.perms = static_cast<permissions>(permission::subscribe);
  join_options resume;
  resume.since = 0;
  r.join(&raw, resume);
  EXPECT_TRUE(raw.received.empty()) << "no resume without history";
}

TEST(room_replica, a_message_already_shown_here_only_joins_the_history_when_its_seq_comes) {
  recording_uplink up;
  room r("lobby", 10, "e", &up);
  fake_member j(wire_format::json, "j1", "jo");
  r.join(&j, {});
  j.received.clear();
  r.deliver_unsequenced(alice, text("late"));
  r.deliver_sequenced({4, 1000, alice, text("late"), true});
  ASSERT_EQ(j.received.size(), 1u) << "shown twice";
  EXPECT_FALSE(j.event(0).contains("seq"));
  EXPECT_EQ(r.last_seq(), 4u);
  auto const page = r.events_after(0, 10);
  ASSERT_EQ(page.events.size(), 1u);
  EXPECT_NE(page.events[0]->find(R"("seq":4)"), std::string::npos) << "kept with its seq";
}

} // namespace
} // namespace crier
