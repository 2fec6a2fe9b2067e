// Scale-out through Redis (--redis): two or three real crier nodes on free loopback ports and a
// redis-server started by the test (persistence off). Messages exactly once and in order across
// nodes, history and resume across nodes, presence across nodes (a SIGKILLed node included), a
// Redis outage, and a node restart in mid-stream.
#include "tests/support/crier_process.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <map>
#include <regex>
#include <thread>

namespace crier::test {
namespace {

namespace json = boost::json;
using clock = std::chrono::steady_clock;

constexpr auto heartbeat = 300ms;

class cluster : public ::testing::Test {
protected:
  void SetUp() override {
    if (!have_redis_server()) GTEST_FAIL() << "redis-server is missing: scripts/install-deps installs it";
    redis_ = std::make_unique<redis_process>();
  }

  // A node of the cluster, once it has connected to Redis. The fixture owns it, so that
  // TearDown can stop it and read its last words.
  crier_process& node() {
    nodes_.push_back(std::make_unique<crier_process>(std::vector<std::string>{
      "--redis", "redis://127.0.0.1:" + std::to_string(redis_->port()), "--redis-heartbeat",
      std::to_string(heartbeat.count()) + "ms", "--threads", "2"}));
    auto& p = *nodes_.back();
    EXPECT_TRUE(p.wait_for_line(std::regex("redis: connected"), 10s)) << p.log();
    return p;
  }

  // Every node still running is stopped with SIGTERM and must exit 0 with no sanitizer report
  // (under the asan-ubsan and tsan presets a report fails the test here).
  void TearDown() override {
    for (auto& n : nodes_) expect_clean_exit(*n);
  }

public:
  static void expect_clean_exit(crier_process& n) {
    if (n.wait_exit(0ms)) return; // killed on purpose
    n.signal(SIGTERM);
    auto const status = n.wait_exit(15s);
    EXPECT_EQ(status, 0) << n.log();
    EXPECT_FALSE(n.wait_for_line(std::regex("Sanitizer|runtime error:"), 5s)) << n.log();
  }

protected:
  std::vector<std::unique_ptr<crier_process>> nodes_;
  std::unique_ptr<redis_process> redis_;
};

// Sends one inline command to Redis and returns its first reply line ("+OK", ...).
std::string redis_inline(std::uint16_t port, std::string const& command) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket s(ioc);
  s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  boost::asio::write(s, boost::asio::buffer(command + "\r\n"));
  std::string reply;
  boost::asio::read_until(s, boost::asio::dynamic_buffer(reply), "\r\n");
  return reply.substr(0, reply.find('\r'));
}

std::size_t count_lines(crier_process const& p, std::string const& pattern) {
  std::size_t n = 0;
  std::regex const re(pattern);
  for (auto const& line : p.lines())
    if (std::regex_search(line, re)) ++n;
  return n;
}

// Polls `target` until its status is `status` (and its body contains `body`), or the deadline.
bool wait_http(std::uint16_t port, std::string const& target, unsigned status, std::string const& body = {},
               std::chrono::milliseconds limit = 10s) {
  auto const deadline = clock::now() + limit;
  while (clock::now() < deadline) {
    auto const r = http_get(port, target, 2s);
    if (!r.ec && r.response.result_int() == status && r.response.body().find(body) != std::string::npos) return true;
    std::this_thread::sleep_for(20ms); // polling interval, not synchronisation
  }
  return false;
}

// The next message event (presence skipped).
json::object next_message(json_client& c, std::chrono::milliseconds timeout = 5s) { return c.next_of("message", timeout); }

// Reads events until `count` message events have come; returns them in order.
std::vector<json::object> messages(json_client& c, std::size_t count) {
  std::vector<json::object> out;
  while (out.size() < count) out.push_back(next_message(c));
  return out;
}

// Nothing more arrives within `quiet` (a bounded check for duplicates).
void expect_no_more_messages(json_client& c, std::chrono::milliseconds quiet = 300ms) {
  auto const deadline = clock::now() + quiet;
  for (;;) {
    auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) return;
    auto r = c.read(left);
    if (r.ec) return;
    EXPECT_EQ(r.message.data.find(R"("type":"message")"), std::string::npos) << "unexpected: " << r.message.data;
  }
}
void expect_no_more_messages(ws_client& c, std::chrono::milliseconds quiet = 300ms) {
  auto r = c.read(quiet);
  EXPECT_TRUE(r.ec) << "unexpected: " << r.message.data;
}

std::string text_of(json::object const& m) { return std::string(m.at("text").as_string()); }

// Reads message events until `count` that are not probes have come.
std::vector<std::string> texts(json_client& c, std::size_t count) {
  std::vector<std::string> out;
  while (out.size() < count) {
    auto t = text_of(next_message(c));
    if (!t.starts_with("probe-")) out.push_back(std::move(t));
  }
  return out;
}

// After an outage: sends probes with `send` until one reaches a fresh client of `room` on the
// node at `port`, i.e. until both nodes are warm again. A read that times out ends a client, so
// each probe gets a new one.
bool wait_until_messages_cross(std::function<void(std::string const&)> const& send, std::uint16_t port,
                               std::string const& room) {
  auto const deadline = clock::now() + 15s;
  for (int k = 0; clock::now() < deadline; ++k) {
    json_client p(port, "/ws/" + room + "?name=probe");
    p.next();
    auto const text = "probe-" + std::to_string(k);
    send(text);
    for (auto r = p.read(500ms); !r.ec; r = p.read(500ms))
      if (r.message.data.find(R"("text":")" + text + '"') != std::string::npos) return true;
  }
  return false;
}

TEST_F(cluster, raw_and_json_clients_on_two_nodes_get_every_message_once_in_order) {
  auto* n1 = &node();
  auto* n2 = &node();
  json_client ja(n1->port(), "/ws/mix?name=ja");
  ASSERT_EQ(ja.next().at("type"), "welcome");
  ws_client rb(n2->port(), "/ws/mix");
  json_client jb(n2->port(), "/ws/mix?name=jb");
  ASSERT_EQ(jb.next().at("type"), "welcome");
  ws_client ra(n1->port(), "/ws/mix");
  // Presence crosses nodes asynchronously: ja hears of the other three.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ja.next_of("join").at("type"), "join");

  constexpr int n = 40;
  for (int i = 0; i < n; ++i) {
    ja.say("ja-" + std::to_string(i));
    rb.send_text("rb-" + std::to_string(i));
  }
  // JSON members: every message once, seqs increasing, each sender's in the order sent, and the
  // same seq for the same message on both nodes.
  std::map<std::string, std::int64_t> seq_on_1;
  for (auto* c : {&ja, &jb}) {
    auto const got = messages(*c, 2 * n);
    std::map<std::string, int> next{{"ja", 0}, {"rb", 0}};
    std::int64_t last = 0;
    for (auto const& m : got) {
      auto const text = text_of(m);
      auto const seq = m.at("seq").as_int64();
      EXPECT_GT(seq, last) << text;
      last = seq;
      auto const sender = text.substr(0, 2);
      EXPECT_EQ(text, sender + "-" + std::to_string(next[sender]++));
      if (c == &ja) seq_on_1[text] = seq;
      else EXPECT_EQ(seq_on_1[text], seq) << text;
    }
    EXPECT_EQ(next["ja"], n);
    EXPECT_EQ(next["rb"], n);
  }
  // Raw members: the same bytes, once, in each sender's order.
  for (auto* c : {&ra, &rb}) {
    std::map<std::string, int> next{{"ja", 0}, {"rb", 0}};
    for (int i = 0; i < 2 * n; ++i) {
      auto const m = c->receive();
      EXPECT_FALSE(m.binary);
      auto const sender = m.data.substr(0, 2);
      EXPECT_EQ(m.data, sender + "-" + std::to_string(next[sender]++));
    }
  }
  // Binary crosses with its opcode and bytes.
  std::string const bytes("\x00\x01\xfe\xff binary", 11);
  ra.send_binary(bytes);
  for (auto* c : {&ra, &rb}) {
    auto const m = c->receive();
    EXPECT_TRUE(m.binary);
    EXPECT_EQ(m.data, bytes);
  }
  auto const jm = jb.read();
  ASSERT_FALSE(jm.ec);
  EXPECT_TRUE(jm.message.binary);
  EXPECT_EQ(jm.message.data, bytes);
  expect_no_more_messages(ja);
  expect_no_more_messages(jb);
  expect_no_more_messages(rb);
}

TEST_F(cluster, history_and_resume_work_across_nodes) {
  auto* n1 = &node();
  auto* n2 = &node();
  json_client a(n1->port(), "/ws/hist?name=a");
  auto const wa = a.next();
  auto const epoch = std::string(wa.at("epoch").as_string());
  std::vector<std::int64_t> seqs;
  for (int i = 1; i <= 5; ++i) {
    a.say("m" + std::to_string(i));
    seqs.push_back(next_message(a).at("seq").as_int64());
  }
  // A first member on the other node gets the room's history from Redis.
  json_client b(n2->port(), "/ws/hist?name=b");
  auto const wb = b.next();
  EXPECT_EQ(wb.at("epoch").as_string(), epoch);
  EXPECT_EQ(wb.at("seq").as_int64(), seqs.back());
  auto const& history = wb.at("history").as_array();
  ASSERT_EQ(history.size(), 5U) << json::serialize(wb);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(history[i].at("seq").as_int64(), seqs[i]);
    EXPECT_EQ(history[i].at("text").as_string(), "m" + std::to_string(i + 1));
  }
  // Resume on the other node after a seq seen on the first.
  json_client c(n2->port(), "/ws/hist?name=c&since=" + std::to_string(seqs[1]) + "&epoch=" + epoch);
  auto const wc = c.next();
  EXPECT_EQ(wc.at("resumed"), true);
  ASSERT_EQ(wc.at("history").as_array().size(), 3U) << json::serialize(wc);
  EXPECT_EQ(wc.at("history").as_array()[0].at("text"), "m3");
  ws_client raw(n2->port(), "/ws/hist?since=" + std::to_string(seqs[3]) + "&epoch=" + epoch);
  EXPECT_EQ(raw.receive().data, "m5");
  // And live traffic after the resume, from the first node, once.
  a.say("m6");
  EXPECT_EQ(text_of(next_message(c)), "m6");
  EXPECT_EQ(raw.receive().data, "m6");
  // Redis forgets the publish script (SCRIPT FLUSH): the node sends it again, nothing is lost.
  EXPECT_EQ(redis_inline(redis_->port(), "SCRIPT FLUSH"), "+OK");
  a.say("m7");
  auto const m7 = next_message(c);
  EXPECT_EQ(text_of(m7), "m7");
  EXPECT_TRUE(m7.contains("seq"));
  EXPECT_EQ(raw.receive().data, "m7");
  expect_no_more_messages(raw);
}

TEST_F(cluster, presence_spans_nodes_and_a_killed_node_s_members_leave) {
  auto* n1 = &node();
  auto* n2 = &node();
  auto* n3 = &node();
  json_client ann(n1->port(), "/ws/pres?name=ann");
  ann.next();
  // Presence reaches Redis just after the handshake; a node warming the room after that sees it.
  ASSERT_TRUE(wait_http(n2->port(), "/api/rooms", 200, R"({"room":"pres","members":1})"));
  json_client bob(n2->port(), "/ws/pres?name=bob");
  auto const wb = bob.next();
  EXPECT_EQ(wb.at("members").as_array().size(), 2U) << json::serialize(wb);
  auto const j1 = ann.next_of("join");
  EXPECT_EQ(j1.at("member").at("name"), "bob");
  ASSERT_TRUE(wait_http(n3->port(), "/api/rooms", 200, R"({"room":"pres","members":2})"));
  json_client cy(n3->port(), "/ws/pres?name=cy");
  auto const wc = cy.next();
  EXPECT_EQ(wc.at("members").as_array().size(), 3U) << json::serialize(wc);
  EXPECT_EQ(ann.next_of("join").at("member").at("name"), "cy");
  EXPECT_EQ(bob.next_of("join").at("member").at("name"), "cy");
  // /api/rooms counts every node's members.
  EXPECT_TRUE(wait_http(n1->port(), "/api/rooms", 200, R"({"room":"pres","members":3})"));
  EXPECT_TRUE(wait_http(n2->port(), "/api/rooms/pres", 200, R"("name":"cy")"));

  bob.close();
  EXPECT_EQ(ann.next_of("leave").at("member").at("name"), "bob");
  EXPECT_EQ(cy.next_of("leave").at("member").at("name"), "bob");

  // A node dies without a word: another node announces its members' leave within 3 heartbeats.
  n3->signal(SIGKILL);
  auto const killed = clock::now();
  ASSERT_TRUE(n3->wait_exit(5s));
  auto const leave = ann.next_of("leave", 10s);
  auto const took = clock::now() - killed;
  EXPECT_EQ(leave.at("member").at("name"), "cy");
  EXPECT_LE(took, 3 * heartbeat + 300ms) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  EXPECT_TRUE(wait_http(n2->port(), "/api/rooms", 200, R"({"room":"pres","members":1})"));
  // n2 has nobody in the room now; it still describes the room from Redis.
  EXPECT_TRUE(wait_http(n2->port(), "/api/rooms/pres", 200, R"("members":[{"id":)"));
  auto const detail = http_get(n2->port(), "/api/rooms/pres");
  EXPECT_NE(detail.response.body().find(R"("name":"ann")"), std::string::npos) << detail.response.body();
  EXPECT_EQ(detail.response.body().find(R"("name":"cy")"), std::string::npos) << detail.response.body();
  // Exactly one leave: nobody announces it twice.
  json_client dan(n2->port(), "/ws/pres?name=dan");
  EXPECT_EQ(ann.next_of("join").at("member").at("name"), "dan");
}

TEST_F(cluster, a_redis_outage_keeps_local_delivery_and_heals_without_duplicates) {
  auto* n1 = &node();
  auto* n2 = &node();
  json_client a(n1->port(), "/ws/out?name=a");
  a.next();
  ws_client a_raw(n1->port(), "/ws/out");
  json_client b(n2->port(), "/ws/out?name=b");
  b.next();
  a.say("before");
  EXPECT_EQ(text_of(next_message(b)), "before");
  EXPECT_EQ(text_of(next_message(a)), "before");
  EXPECT_EQ(a_raw.receive().data, "before");

  redis_->kill();
  ASSERT_TRUE(n1->wait_for_line(std::regex("redis: connection lost"), 5s));
  EXPECT_TRUE(wait_http(n1->port(), "/readyz", 503, "redis unavailable"));
  EXPECT_TRUE(wait_http(n1->port(), "/metrics", 200, "crier_redis_up 0"));
  // Local delivery goes on, without a seq.
  a.say("during");
  auto const during = next_message(a);
  EXPECT_EQ(text_of(during), "during");
  EXPECT_FALSE(during.contains("seq"));
  EXPECT_EQ(a_raw.receive().data, "during");

  redis_->start();
  EXPECT_TRUE(wait_http(n1->port(), "/readyz", 200, "ready"));
  EXPECT_TRUE(wait_http(n2->port(), "/readyz", 200, "ready"));
  EXPECT_TRUE(wait_http(n1->port(), "/metrics", 200, "crier_redis_dropped_messages_total 1"));
  ASSERT_TRUE(wait_until_messages_cross([&](std::string const& t) { a.say(t); }, n2->port(), "out"));
  for (int i = 1; i <= 5; ++i) a.say("after-" + std::to_string(i));
  b.say("b-after");
  auto got_b = texts(b, 6);
  auto got_a = texts(a, 6);
  for (auto* got : {&got_a, &got_b}) {
    EXPECT_EQ(std::count(got->begin(), got->end(), "b-after"), 1);
    std::erase(*got, "b-after");
    EXPECT_EQ(*got, (std::vector<std::string>{"after-1", "after-2", "after-3", "after-4", "after-5"}));
  }
  expect_no_more_messages(a);
  expect_no_more_messages(b);
  // One line per change of state, not one per retry.
  EXPECT_EQ(count_lines(*n1, "redis: connection lost"), 1U) << n1->log();
  EXPECT_EQ(count_lines(*n1, "redis: connected"), 2U) << n1->log();

}

TEST_F(cluster, redis_killed_mid_stream_no_message_is_delivered_twice_or_out_of_order) {
  auto* n1 = &node();
  auto* n2 = &node();
  json_client a(n1->port(), "/ws/mid?name=a");
  a.next();
  json_client b(n2->port(), "/ws/mid?name=b");
  b.next();
  ws_client sender(n2->port(), "/ws/mid");
  auto const say = [&](int i) { sender.send_text("s-" + std::to_string(i)); };
  for (int i = 0; i < 20; ++i) say(i);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(text_of(next_message(a)), "s-" + std::to_string(i));
  // Redis dies while the sender keeps going: its node goes on delivering locally.
  redis_->kill();
  for (int i = 20; i < 60; ++i) say(i);
  ASSERT_TRUE(n2->wait_for_line(std::regex("redis: connection lost"), 5s));
  redis_->start();
  ASSERT_TRUE(wait_http(n1->port(), "/readyz", 200, "ready"));
  ASSERT_TRUE(wait_http(n2->port(), "/readyz", 200, "ready"));
  ASSERT_TRUE(wait_until_messages_cross([&](std::string const& t) { sender.send_text(t); }, n1->port(), "mid"));
  int const last = 80;
  for (int i = 60; i < last; ++i) say(i);
  std::vector<int> at_a;
  while (at_a.empty() || at_a.back() != last - 1) {
    auto const t = text_of(next_message(a));
    if (t.starts_with("s-")) at_a.push_back(std::stoi(t.substr(2)));
  }
  // At the other node: never twice, never out of order (what went during the outage is lost).
  for (std::size_t k = 1; k < at_a.size(); ++k) EXPECT_LT(at_a[k - 1], at_a[k]) << k;
  // Everything sent once the nodes were back crossed.
  auto const first = std::find_if(at_a.begin(), at_a.end(), [](int v) { return v >= 60; });
  ASSERT_NE(first, at_a.end());
  EXPECT_EQ(*first, 60);
  EXPECT_EQ(at_a.end() - first, last - 60);
  // At the sender's node: everything, once, in order, whatever Redis did.
  auto const at_b = texts(b, last);
  for (int k = 0; k < last; ++k) EXPECT_EQ(at_b[static_cast<std::size_t>(k)], "s-" + std::to_string(k));
  expect_no_more_messages(a);
  expect_no_more_messages(b);
}

TEST_F(cluster, messages_go_on_across_a_node_restart) {
  auto* n1 = &node();
  auto* n2 = &node();
  json_client b(n2->port(), "/ws/rs?name=b");
  b.next();
  {
    ws_client a(n1->port(), "/ws/rs");
    for (int i = 1; i <= 10; ++i) a.send_text("m" + std::to_string(i));
    for (int i = 1; i <= 10; ++i) EXPECT_EQ(a.receive().data, "m" + std::to_string(i));
    n1->signal(SIGKILL);
    ASSERT_TRUE(n1->wait_exit(5s));
  }
  n1 = &node();
  ws_client a(n1->port(), "/ws/rs");
  for (int i = 11; i <= 20; ++i) a.send_text("m" + std::to_string(i));
  std::int64_t last = 0;
  for (int i = 1; i <= 20; ++i) {
    auto const m = next_message(b);
    EXPECT_EQ(text_of(m), "m" + std::to_string(i));
    EXPECT_GT(m.at("seq").as_int64(), last);
    last = m.at("seq").as_int64();
  }
  for (int i = 11; i <= 20; ++i) EXPECT_EQ(a.receive().data, "m" + std::to_string(i));
  // The restarted node serves the whole history.
  json_client c(n1->port(), "/ws/rs?name=c");
  auto const wc = c.next();
  EXPECT_EQ(wc.at("seq").as_int64(), last);
  EXPECT_EQ(wc.at("history").as_array().size(), 20U);
  expect_no_more_messages(b);
}

// A node asked to stop while Redis is frozen sends its goodbye (heartbeat removal, sweep), which
// is never answered: it still exits at once, cleanly (under the sanitizer presets: nothing left
// allocated; the unanswered commands' handlers used to keep the node's broker alive).
TEST_F(cluster, a_node_stopped_while_redis_is_frozen_exits_cleanly) {
  auto* n1 = &node();
  json_client a(n1->port(), "/ws/frz?name=a");
  a.next();
  a.close();
  redis_->freeze();
  n1->signal(SIGTERM);
  auto const status = n1->wait_exit(15s);
  redis_->thaw();
  EXPECT_EQ(status, 0) << n1->log();
  EXPECT_FALSE(n1->wait_for_line(std::regex("Sanitizer|runtime error:"), 0s)) << n1->log();
  EXPECT_TRUE(n1->wait_for_line(std::regex("shut down"), 0s)) << n1->log();
}

TEST_F(cluster, without_redis_at_start_a_node_serves_locally_and_says_not_ready) {
  auto const port = redis_->port();
  redis_->kill();
  crier_process n({"--redis", "redis://127.0.0.1:" + std::to_string(port), "--redis-heartbeat", "300ms"});
  ASSERT_TRUE(n.wait_for_line(std::regex("redis: unavailable"), 5s));
  EXPECT_TRUE(wait_http(n.port(), "/readyz", 503, "redis unavailable"));
  json_client a(n.port(), "/ws/solo?name=a");
  EXPECT_EQ(a.next().at("type"), "welcome");
  a.say("alone");
  EXPECT_EQ(text_of(next_message(a)), "alone");
  redis_->start();
  EXPECT_TRUE(wait_http(n.port(), "/readyz", 200, "ready"));
  EXPECT_EQ(count_lines(n, "redis: unavailable"), 1U) << n.log();
  a.close();
  expect_clean_exit(n);
}

} // namespace
} // namespace crier::test
