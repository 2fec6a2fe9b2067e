// Webhooks on the real binary, to a receiver started by the test on loopback: signed batches of
// every event type, a receiver that fails for a while (every event afterwards, each once by
// id), one that stays down past the queue's bound (drops counted exactly, no crash), shutdown,
// the secret kept out of the log, the docs' Python receiver, and two nodes through a real Redis
// sending each event once.
#include "tests/support/crier_process.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/test_certificate.hpp"
#include "tests/support/webhook_receiver.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <regex>
#include <set>

namespace crier::test {
namespace {

namespace json = boost::json;
using clock = std::chrono::steady_clock;

constexpr char const* secret = "wh-s3cret-7f1c";

// crier with webhooks to `url`, quick to batch and to retry; `more` adds flags or overrides these.
std::vector<std::string> webhook_args(std::string const& url, std::string const& events,
                                      std::vector<std::string> more = {}) {
  std::vector<std::pair<std::string, std::string>> const defaults{
    {"--webhook-url", url},           {"--webhook-secret", secret}, {"--webhook-events", events},
    {"--webhook-batch-delay", "20ms"}, {"--webhook-retry", "20ms"},  {"--webhook-timeout", "2s"}};
  std::vector<std::string> args;
  for (auto const& [flag, value] : defaults)
    if (std::ranges::find(more, flag) == more.end()) args.insert(args.end(), {flag, value});
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

std::string type_of(json::object const& e) { return std::string(e.at("type").as_string()); }
std::string id_of(json::object const& e) { return std::string(e.at("id").as_string()); }

std::size_t count_type(std::vector<json::object> const& events, std::string const& type) {
  return static_cast<std::size_t>(std::ranges::count_if(events, [&](auto const& e) { return type_of(e) == type; }));
}

std::vector<std::string> texts_of(std::vector<json::object> const& events) {
  std::vector<std::string> out;
  for (auto const& e : events)
    if (type_of(e) == "message") out.emplace_back(e.at("text").as_string());
  return out;
}

http_result publish(std::uint16_t port, std::string const& room, std::string const& text) {
  return http_call(port, "POST", "/api/rooms/" + room + "/messages", R"({"text":")" + text + R"("})",
                   {{"Authorization", "Bearer k3y"}});
}

// Every event's id is unique: none was acknowledged twice.
void expect_unique_ids(std::vector<json::object> const& events) {
  std::set<std::string> ids;
  for (auto const& e : events) EXPECT_TRUE(ids.insert(id_of(e)).second) << "twice: " << json::serialize(e);
}

// SIGTERM, exit 0, the whole log read ("shut down" is its last line) and no sanitizer report in
// it (under the asan-ubsan and tsan presets).
void expect_clean_exit(crier_process& p) {
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait_exit(15s), 0) << p.log();
  EXPECT_TRUE(p.wait_for_line(std::regex("info shut down"), 5s)) << p.log();
  EXPECT_FALSE(std::regex_search(p.log(), std::regex("Sanitizer|runtime error:"))) << p.log();
}

TEST(webhooks, every_event_type_arrives_signed_and_batched) {
  webhook_receiver receiver;
  crier_process server(webhook_args(receiver.url(), "join,leave,message,room_occupied,room_vacated"));
  {
    json_client ann(server.port(), "/ws/lobby?name=Ann");
    ann.next_of("welcome");
    json_client bob(server.port(), "/ws/lobby?name=Bob");
    bob.next_of("welcome");
    ann.say("hello");
    bob.next_of("message");
    ann.close();
    bob.next_of("leave");
    bob.close();
  }
  ASSERT_TRUE(receiver.wait_until([](auto const& events) { return events.size() >= 7; })) << server.log();
  auto const events = receiver.events();
  std::vector<std::string> types;
  for (auto const& e : events) types.push_back(type_of(e));
  EXPECT_EQ(types, (std::vector<std::string>{"room_occupied", "join", "join", "message", "leave", "leave",
                                             "room_vacated"}));
  expect_unique_ids(events);
  for (auto const& e : events) EXPECT_EQ(e.at("room").as_string(), "lobby");
  EXPECT_EQ(events[1].at("member").as_object().at("name").as_string(), "Ann");
  auto const& message = events[3];
  EXPECT_EQ(message.at("text").as_string(), "hello");
  EXPECT_EQ(message.at("seq").as_int64(), 1);
  EXPECT_EQ(message.at("from").as_object().at("name").as_string(), "Ann");

  auto const now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  for (auto const& r : receiver.requests()) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/hooks");
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.signature, expected_signature(secret, r.timestamp, r.body)) << r.body;
    EXPECT_NE(r.signature, expected_signature("wrong", r.timestamp, r.body));
    EXPECT_LE(std::abs(std::stoll(r.timestamp) - now.count()), 60) << r.timestamp;
  }
  EXPECT_EQ(metric_reaching(server.port(), "crier_webhook_events_sent_total", 7), 7);
  EXPECT_EQ(metric(server.port(), "crier_webhook_events_dropped_total"), 0);
  EXPECT_EQ(metric(server.port(), "crier_webhook_queue_events"), 0);
  EXPECT_GE(metric(server.port(), "crier_webhook_request_duration_seconds_count"), 1);
  expect_clean_exit(server);
  EXPECT_EQ(server.log().find(secret), std::string::npos) << "the secret is in the log";
}

TEST(webhooks, a_receiver_that_fails_for_a_while_then_gets_every_event_once_by_id) {
  webhook_receiver receiver;
  receiver.answer(500);
  crier_process server(webhook_args(receiver.url(), "message", {"--api-key", "k3y", "--webhook-batch-size", "4"}));
  for (int i = 0; i < 20; ++i) ASSERT_EQ(publish(server.port(), "lobby", "m" + std::to_string(i)).response.result_int(), 200);
  // A few refused requests (their events are retried), then the receiver is back.
  ASSERT_TRUE(receiver.wait_until([&](auto const& all) { return all.size() >= 8; }, 10s, false)) << server.log();
  receiver.answer(200);
  ASSERT_TRUE(receiver.wait_until([](auto const& events) { return events.size() >= 20; })) << server.log();
  auto const events = receiver.events();
  expect_unique_ids(events);
  std::vector<std::string> expected;
  for (int i = 0; i < 20; ++i) expected.push_back("m" + std::to_string(i));
  EXPECT_EQ(texts_of(events), expected); // all of them, once, in order
  // Every refused event came again, under the same id.
  std::set<std::string> delivered;
  for (auto const& e : events) delivered.insert(id_of(e));
  for (auto const& e : receiver.events(false)) EXPECT_TRUE(delivered.contains(id_of(e))) << json::serialize(e);
  // Batched: at most --webhook-batch-size events a request, and full ones while events wait.
  std::size_t largest = 0;
  for (auto const& r : receiver.requests()) {
    auto const n = json::parse(r.body).as_object().at("events").as_array().size();
    EXPECT_LE(n, 4U) << r.body;
    largest = std::max(largest, n);
  }
  EXPECT_EQ(largest, 4U);
  EXPECT_EQ(metric_reaching(server.port(), "crier_webhook_events_sent_total", 20), 20);
  EXPECT_GE(metric(server.port(), "crier_webhook_events_retried_total"), 8);
  EXPECT_EQ(metric(server.port(), "crier_webhook_events_dropped_total"), 0);
  EXPECT_TRUE(server.wait_for_line(std::regex("webhooks: the receiver refused a request.*status=500"), 5s)) << server.log();
  expect_clean_exit(server);
}

TEST(webhooks, a_receiver_down_past_the_queue_bound_costs_counted_drops_and_nothing_else) {
  webhook_receiver receiver;
  receiver.answer(503);
  crier_process server(webhook_args(receiver.url(), "message",
                                    {"--api-key", "k3y", "--webhook-queue", "5", "--webhook-batch-size", "2"}));
  for (int i = 0; i < 12; ++i) ASSERT_EQ(publish(server.port(), "lobby", "m" + std::to_string(i)).response.result_int(), 200);
  // The queue holds 5, in flight included: the 7 oldest are dropped, however the requests went.
  ASSERT_EQ(metric_reaching(server.port(), "crier_webhook_events_dropped_total", 7), 7) << server.log();
  EXPECT_EQ(metric(server.port(), "crier_webhook_queue_events"), 5);
  EXPECT_TRUE(server.wait_for_line(std::regex("webhooks: queue full"), 5s)) << server.log();
  receiver.answer(200);
  ASSERT_TRUE(receiver.wait_until([](auto const& events) { return events.size() >= 5; })) << server.log();
  EXPECT_EQ(texts_of(receiver.events()), (std::vector<std::string>{"m7", "m8", "m9", "m10", "m11"}));
  // Later events flow again, and the drops stay what they were.
  ASSERT_EQ(publish(server.port(), "lobby", "after").response.result_int(), 200);
  ASSERT_TRUE(receiver.wait_until([](auto const& events) { return events.size() >= 6; })) << server.log();
  EXPECT_EQ(texts_of(receiver.events()).back(), "after");
  EXPECT_EQ(metric(server.port(), "crier_webhook_events_dropped_total"), 7);
  EXPECT_EQ(metric_reaching(server.port(), "crier_webhook_events_sent_total", 6), 6);
  // One warning for the whole episode.
  auto const log = server.log();
  std::size_t warnings = 0;
  for (auto pos = log.find("webhooks: queue full"); pos != std::string::npos; pos = log.find("webhooks: queue full", pos + 1))
    ++warnings;
  EXPECT_EQ(warnings, 1U) << log;
  expect_clean_exit(server);
}

TEST(webhooks, shutdown_sends_the_last_leaves_and_never_waits_past_its_timeout) {
  webhook_receiver receiver;
  crier_process server(webhook_args(receiver.url(), "leave,room_vacated", {"--webhook-batch-delay", "10s"}));
  json_client ann(server.port(), "/ws/lobby?name=Ann");
  ann.next_of("welcome");
  server.signal(SIGTERM);
  ann.read(); // the close
  EXPECT_EQ(server.wait_exit(15s), 0) << server.log();
  // Draining does not wait for a batch to fill.
  auto const events = receiver.events();
  ASSERT_EQ(events.size(), 2U) << server.log();
  EXPECT_EQ(type_of(events[0]), "leave");
  EXPECT_EQ(type_of(events[1]), "room_vacated");

  // A receiver that never acknowledges holds shutdown no longer than --shutdown-timeout.
  webhook_receiver down;
  down.answer(500);
  crier_process stuck(webhook_args(down.url(), "join,leave", {"--shutdown-timeout", "1s"}));
  {
    json_client bob(stuck.port(), "/ws/lobby?name=Bob");
    bob.next_of("welcome");
  }
  ASSERT_TRUE(down.wait_until([](auto const& all) { return !all.empty(); }, 10s, false));
  auto const started = clock::now();
  stuck.signal(SIGTERM);
  EXPECT_EQ(stuck.wait_exit(15s), 0) << stuck.log();
  EXPECT_LT(clock::now() - started, 3s);
  EXPECT_TRUE(stuck.wait_for_line(std::regex("webhooks: shutdown timeout: events left undelivered.*events=2"), 5s))
    << stuck.log();
}

TEST(webhooks, the_secret_never_reaches_the_log) {
  webhook_receiver receiver;
  receiver.answer(401);
  crier_process server(
    webhook_args(receiver.url() + "?from=crier", "join,leave,room_occupied,room_vacated",
                 {"--log-level", "trace", "--shutdown-timeout", "1s"}));
  {
    json_client ann(server.port(), "/ws/lobby?name=Ann");
    ann.next_of("welcome");
  }
  ASSERT_TRUE(receiver.wait_until([](auto const& all) { return all.size() >= 4; }, 10s, false));
  expect_clean_exit(server);
  auto const log = server.log();
  EXPECT_NE(log.find("webhooks: sending room events"), std::string::npos) << log;
  EXPECT_EQ(log.find(secret), std::string::npos) << log;
  // Nor when it comes from the environment.
  crier_process from_env({"--webhook-url", receiver.url(), "--log-level", "trace"},
                         {.timeout = 10s, .max_open_files = 0, .command = {},
                          .env = {std::string("CRIER_WEBHOOK_SECRET=") + secret}});
  expect_clean_exit(from_env);
  EXPECT_EQ(from_env.log().find(secret), std::string::npos) << from_env.log();
}

TEST(webhooks, the_python_example_in_the_docs_verifies_and_prints_every_event) {
  crier_process python({}, {.timeout = 10s,
                            .max_open_files = 0,
                            .command = {"/usr/bin/python3", "-u", CRIER_SOURCE_DIR "/docs/examples/webhook_receiver.py", "0"},
                            .env = {std::string("CRIER_WEBHOOK_SECRET=") + secret}});
  auto const url = "http://127.0.0.1:" + std::to_string(python.port()) + "/";
  crier_process server(webhook_args(url, "join,leave,message,room_occupied,room_vacated"));
  {
    json_client ann(server.port(), "/ws/lobby?name=Ann");
    ann.next_of("welcome");
    ann.say("hi");
    ann.next_of("message");
  }
  ASSERT_TRUE(python.wait_for_line(std::regex(" room_vacated lobby "), 10s)) << python.log() << server.log();
  // It accepted every request, so the signature it checks is the one crier sends.
  ASSERT_EQ(metric_reaching(server.port(), "crier_webhook_events_sent_total", 5), 5) << python.log();
  EXPECT_EQ(metric(server.port(), "crier_webhook_events_retried_total"), 0);
  for (auto const* type : {" room_occupied ", " join ", " message ", " leave "})
    EXPECT_TRUE(python.wait_for_line(std::regex(type), 5s)) << type << python.log();
  expect_clean_exit(server);

  // And it refuses a request signed with another secret.
  auto const forged = http_call(python.port(), "POST", "/", R"({"events":[]})",
                                {{"X-Crier-Timestamp", "1700000000"}, {"X-Crier-Signature", "sha256=00"}});
  EXPECT_EQ(forged.response.result_int(), 401);
}

TEST(webhooks, https_needs_a_receiver_certificate_crier_trusts) {
  test_certificate cert("webhook");
  webhook_receiver receiver(cert.cert.string(), cert.key.string());
  // Trusted through SSL_CERT_FILE, as an operator's own CA would be: delivered.
  crier_process trusted(webhook_args(receiver.url(), "join"),
                        {.timeout = 10s, .max_open_files = 0, .command = {},
                         .env = {"SSL_CERT_FILE=" + cert.cert.string()}});
  {
    json_client ann(trusted.port(), "/ws/lobby?name=Ann");
    ann.next_of("welcome");
  }
  ASSERT_TRUE(receiver.wait_until([](auto const& events) { return events.size() == 1; })) << trusted.log();
  auto const r = receiver.requests().front();
  EXPECT_EQ(r.signature, expected_signature(secret, r.timestamp, r.body));
  // A certificate crier does not trust: refused at the handshake, retried, never delivered.
  crier_process untrusted(webhook_args(receiver.url(), "join", {"--shutdown-timeout", "1s"}));
  {
    json_client bob(untrusted.port(), "/ws/lobby?name=Bob");
    bob.next_of("welcome");
  }
  EXPECT_TRUE(untrusted.wait_for_line(std::regex("webhooks: a request failed.*TLS handshake"), 10s)) << untrusted.log();
  EXPECT_EQ(receiver.requests().size(), 1U);
  expect_clean_exit(trusted);
  expect_clean_exit(untrusted);
}

class webhook_cluster : public ::testing::Test {
protected:
  void SetUp() override {
    if (!have_redis_server()) GTEST_FAIL() << "redis-server is missing: scripts/install-deps installs it";
    redis_ = std::make_unique<redis_process>();
  }
  crier_process& node(std::string const& url) {
    auto args = webhook_args(url, "join,leave,message,room_occupied,room_vacated",
                             {"--redis", "redis://127.0.0.1:" + std::to_string(redis_->port()), "--redis-heartbeat",
                              "300ms", "--api-key", "k3y"});
    nodes_.push_back(std::make_unique<crier_process>(args));
    auto& p = *nodes_.back();
    EXPECT_TRUE(p.wait_for_line(std::regex("redis: connected"), 10s)) << p.log();
    return p;
  }
  void TearDown() override {
    for (auto& n : nodes_)
      if (!n->wait_exit(0ms)) expect_clean_exit(*n); // not one killed on purpose
  }
  std::unique_ptr<redis_process> redis_;
  std::vector<std::unique_ptr<crier_process>> nodes_;
};

TEST_F(webhook_cluster, two_nodes_send_each_event_once) {
  webhook_receiver receiver;
  auto& one = node(receiver.url());
  auto& two = node(receiver.url());
  for (int round = 0; round < 3; ++round) {
    // Members on both nodes, joining and leaving in every order: each room is occupied once
    // and vacated once per round, whichever node's member came first or went last.
    std::string const room = "r" + std::to_string(round);
    {
      json_client ann(one.port(), "/ws/" + room + "?name=Ann");
      json_client bob(two.port(), "/ws/" + room + "?name=Bob");
      ann.next_of("welcome");
      bob.next_of("welcome");
      ann.say("from one");
      bob.say("from two");
      ASSERT_EQ(publish(round % 2 == 0 ? one.port() : two.port(), room, "from the api").response.result_int(), 200);
      for (int i = 0; i < 3; ++i) ann.next_of("message");
      for (int i = 0; i < 3; ++i) bob.next_of("message");
      if (round == 1) bob.close();
    }
    auto const expected = static_cast<std::size_t>(round + 1) * 8; // occupied, 2 joins, 3 messages, 2 leaves, vacated
    ASSERT_TRUE(receiver.wait_until([&](auto const& events) { return count_type(events, "room_vacated") == static_cast<std::size_t>(round + 1) &&
                                                                      events.size() >= expected; }))
      << one.log() << two.log();
  }
  // A moment for a duplicate to show up, if one were coming.
  ASSERT_EQ(publish(one.port(), "quiet", "marker").response.result_int(), 200);
  ASSERT_TRUE(receiver.wait_until([](auto const& events) { return !texts_of(events).empty() && texts_of(events).back() == "marker"; }));
  auto events = receiver.events();
  expect_unique_ids(events);
  for (int round = 0; round < 3; ++round) {
    std::string const room = "r" + std::to_string(round);
    std::vector<json::object> in_room;
    for (auto const& e : events)
      if (e.at("room").as_string() == room) in_room.push_back(e);
    EXPECT_EQ(count_type(in_room, "room_occupied"), 1U) << room;
    EXPECT_EQ(count_type(in_room, "join"), 2U) << room;
    EXPECT_EQ(count_type(in_room, "message"), 3U) << room;
    EXPECT_EQ(count_type(in_room, "leave"), 2U) << room;
    EXPECT_EQ(count_type(in_room, "room_vacated"), 1U) << room;
    // Messages carry their cluster-wide seq, each once.
    std::set<std::int64_t> seqs;
    for (auto const& e : in_room)
      if (type_of(e) == "message") seqs.insert(e.at("seq").as_int64());
    EXPECT_EQ(seqs, (std::set<std::int64_t>{1, 2, 3})) << room;
  }
}

TEST_F(webhook_cluster, a_dead_node_s_members_leave_through_the_node_that_sweeps_them) {
  webhook_receiver receiver;
  auto& one = node(receiver.url());
  auto& two = node(receiver.url());
  json_client bob(two.port(), "/ws/k?name=Bob");
  bob.next_of("welcome");
  {
    json_client ann(one.port(), "/ws/k?name=Ann");
    ann.next_of("welcome");
    bob.next_of("join");
  }
  bob.next_of("leave"); // Ann's: Bob, on the node about to die, is the last member
  // What a node has queued dies with it: its events are sent before it is killed.
  ASSERT_TRUE(receiver.wait_until([](auto const& events) {
    return count_type(events, "room_occupied") == 1 && count_type(events, "join") == 2 && count_type(events, "leave") == 1;
  }));
  two.signal(SIGKILL);
  ASSERT_EQ(two.wait_exit(5s), 128 + SIGKILL);
  // Node one's sweep removes Bob within a few heartbeats, and reports his leave and the empty room.
  ASSERT_TRUE(receiver.wait_until([](auto const& events) { return count_type(events, "room_vacated") == 1; }))
    << one.log();
  auto const events = receiver.events();
  expect_unique_ids(events);
  EXPECT_EQ(count_type(events, "room_occupied"), 1U);
  EXPECT_EQ(count_type(events, "join"), 2U);
  ASSERT_EQ(count_type(events, "leave"), 2U);
  EXPECT_EQ(events.back().at("type").as_string(), "room_vacated");
  std::vector<std::string> left;
  for (auto const& e : events)
    if (type_of(e) == "leave") left.emplace_back(e.at("member").as_object().at("name").as_string());
  EXPECT_EQ(left, (std::vector<std::string>{"Ann", "Bob"}));
}

} // namespace
} // namespace crier::test
