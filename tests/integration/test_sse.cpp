// Event streams (GET /sse/<room>) on the real binary: the events and their ids, resume from
// Last-Event-ID and ?since=, keep-alive, the admission rules a WebSocket has (tokens, Origin,
// --max-connections), the slow-consumer bound, the ends a server decides (shutdown, the API's
// disconnect, a token's expiry), curl -N, and a stream on one node of a cluster.
#include "common/token.hpp"
#include "tests/support/crier_process.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/sse_client.hpp"
#include "tests/support/test_certificate.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <atomic>
#include <future>
#include <thread>

namespace crier::test {
namespace {

namespace json = boost::json;

std::string id_of(std::string const& epoch, long seq) { return epoch + ":" + std::to_string(seq); }

// The welcome that starts every stream, checked to be one.
json::object welcome_of(sse_client& s) {
  auto const w = s.next(5s);
  if (!w) throw std::runtime_error("sse: no welcome");
  EXPECT_EQ(w->type, "welcome");
  EXPECT_FALSE(w->id) << "a welcome has no id: it is no place to resume from";
  return w->json();
}

TEST(sse, a_room_s_events_arrive_as_sse_events_with_resumable_ids) {
  crier_process server;
  sse_client s(server.port(), "/sse/square?name=watcher");
  ASSERT_EQ(s.status(), 200u);
  EXPECT_EQ(s.header("Content-Type"), "text/event-stream");
  EXPECT_EQ(s.header("Cache-Control"), "no-store");
  auto const welcome = welcome_of(s);
  ASSERT_TRUE(s.retry()) << "retry: comes once, before the first event";
  EXPECT_EQ(welcome.at("name").as_string(), "watcher");
  EXPECT_EQ(welcome.at("history").as_array().size(), 0u);
  std::string const epoch(welcome.at("epoch").as_string());

  // A crier.v1 client sees the subscriber as a member, and the subscriber sees it join.
  json_client ann(server.port(), "/ws/square?name=ann");
  auto const ann_welcome = ann.next_of("welcome");
  bool listed = false;
  for (auto const& m : ann_welcome.at("members").as_array()) listed |= m.at("name").as_string() == "watcher";
  EXPECT_TRUE(listed) << json::serialize(ann_welcome);
  auto const join = s.next_of("join");
  EXPECT_EQ(join.json().at("member").at("name").as_string(), "ann");
  EXPECT_FALSE(join.id);

  ann.say("hello");
  auto const m = s.next_of("message");
  ASSERT_TRUE(m.id);
  EXPECT_EQ(*m.id, id_of(epoch, 1));
  EXPECT_EQ(m.json().at("text").as_string(), "hello");
  EXPECT_EQ(m.json().at("seq").as_int64(), 1);
  EXPECT_EQ(m.json(), ann.next_of("message")) << "the same JSON object a crier.v1 client gets";

  // A raw member's text and a line break inside a message arrive whole; binary cannot, and is counted.
  ws_client raw(server.port(), "/ws/square");
  s.next_of("join");
  raw.send_binary(std::string("\x01\x02", 2));
  raw.send_text("two\nlines");
  auto const m2 = s.next_of("message");
  EXPECT_EQ(*m2.id, id_of(epoch, 2));
  EXPECT_EQ(m2.json().at("text").as_string(), "two\nlines");
  auto const metrics = scrape_metrics(server.port());
  EXPECT_EQ(metrics.at("crier_sse_streams"), 1);
  EXPECT_EQ(metrics.at("crier_connections"), 3) << "an event stream is a session";
  EXPECT_EQ(metrics.at("crier_sse_skipped_total"), 1);
  auto const room = json::parse(http_get(server.port(), "/api/rooms/square").response.body());
  EXPECT_EQ(room.at("count").as_int64(), 3);

  raw.close();
  auto const leave = s.next_of("leave").json();
  EXPECT_TRUE(leave.at("member").as_object().contains("id")) << json::serialize(leave);
}

TEST(sse, resumes_from_last_event_id_or_since_as_a_websocket_resumes) {
  crier_process server{{"--history", "4"}};
  json_client ann(server.port(), "/ws/r?name=ann");
  auto const epoch = std::string(ann.next_of("welcome").at("epoch").as_string());
  for (int i = 1; i <= 6; ++i) ann.say("m" + std::to_string(i));
  for (int i = 1; i <= 6; ++i) ann.next_of("message");

  // Last-Event-ID, as an EventSource sends it on reconnecting: the rest, each once, complete.
  sse_client s(server.port(), "/sse/r?since=1", {{"Last-Event-ID", id_of(epoch, 4)}});
  auto w = welcome_of(s);
  EXPECT_TRUE(w.at("resumed").as_bool()) << json::serialize(w);
  EXPECT_EQ(w.at("history").as_array().size(), 0u) << "history comes as events of its own";
  for (int seq : {5, 6}) EXPECT_EQ(*s.next_of("message").id, id_of(epoch, seq));
  ann.say("m7");
  EXPECT_EQ(*s.next_of("message").id, id_of(epoch, 7)) << "and then live, with no gap";

  // ?since= with the epoch: the same.
  sse_client q(server.port(), "/sse/r?since=6&epoch=" + epoch);
  EXPECT_TRUE(welcome_of(q).at("resumed").as_bool());
  EXPECT_EQ(*q.next_of("message").id, id_of(epoch, 7));

  // Past what the room keeps (4 messages): what is kept, and resumed:false says there is a gap.
  sse_client gap(server.port(), "/sse/r", {{"Last-Event-ID", id_of(epoch, 1)}});
  EXPECT_FALSE(welcome_of(gap).at("resumed").as_bool());
  EXPECT_EQ(*gap.next_of("message").id, id_of(epoch, 4));

  // Another epoch: the welcome's epoch differs, and everything kept is replayed.
  sse_client other(server.port(), "/sse/r", {{"Last-Event-ID", "0badc0de:5"}});
  auto const ow = welcome_of(other);
  EXPECT_EQ(ow.at("epoch").as_string(), epoch);
  EXPECT_FALSE(ow.at("resumed").as_bool());
  EXPECT_EQ(*other.next_of("message").id, id_of(epoch, 4));

  // What cannot be read is refused, with the reason.
  sse_client bad(server.port(), "/sse/r", {{"Last-Event-ID", "no-colon"}});
  EXPECT_EQ(bad.status(), 400u);
  EXPECT_NE(bad.refusal_body().find("invalid Last-Event-ID"), std::string::npos) << bad.refusal_body();
  sse_client bad_since(server.port(), "/sse/r?since=x");
  EXPECT_EQ(bad_since.status(), 400u);
}

TEST(sse, keep_alive_comments_come_every_ping_interval) {
  crier_process server{{"--ping-interval", "100ms"}};
  sse_client s(server.port(), "/sse/quiet");
  welcome_of(s);
  EXPECT_TRUE(s.wait_comment(3s));
  EXPECT_TRUE(s.wait_comment(3s));
}

TEST(sse, bad_requests_get_clear_answers) {
  crier_process server;
  EXPECT_EQ(sse_client(server.port(), "/sse/bad%20room").status(), 400u);
  auto const post = http_call(server.port(), "POST", "/sse/lobby", "");
  EXPECT_EQ(post.response.result_int(), 405);
  EXPECT_EQ(post.response[boost::beast::http::field::allow], "GET");
  sse_client bad_name(server.port(), "/sse/lobby?name=%20");
  EXPECT_EQ(bad_name.status(), 400u);
  // HTTP/1.0: no chunks; the stream ends with the connection.
  sse_client old(server.port(), "/sse/lobby", {}, 5s, 0, "HTTP/1.0");
  EXPECT_EQ(old.status(), 200u);
  EXPECT_EQ(old.header("Transfer-Encoding"), "");
  welcome_of(old);
  // The server is still fine for everyone.
  sse_client s(server.port(), "/sse/lobby");
  welcome_of(s);
}

TEST(sse, tokens_and_origins_admit_as_for_a_websocket) {
  std::string const secret = "sse-secret-7b1f";
  crier_process server{{"--token-secret", secret, "--allowed-origins", "https://app.example"}};
  token_request r;
  r.sub = "ann";
  r.name = "Ann";
  r.rooms = {{"news", static_cast<permissions>(permission::subscribe)}};
  auto const token = sign_hs256_token(secret, r);

  sse_client none(server.port(), "/sse/news");
  EXPECT_EQ(none.status(), 401u);
  EXPECT_EQ(none.header("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(sse_client(server.port(), "/sse/news?token=" + token + "x").status(), 401u);
  EXPECT_EQ(sse_client(server.port(), "/sse/other?token=" + token).status(), 403u) << "no subscribe in this room";
  EXPECT_EQ(sse_client(server.port(), "/sse/news?token=" + token, {{"Origin", "https://evil.example"}}).status(), 403u);

  sse_client s(server.port(), "/sse/news?token=" + token, {{"Origin", "https://app.example"}});
  ASSERT_EQ(s.status(), 200u);
  EXPECT_EQ(s.header("Access-Control-Allow-Origin"), "https://app.example");
  auto const w = welcome_of(s);
  EXPECT_EQ(w.at("user").as_string(), "ann");
  EXPECT_EQ(w.at("name").as_string(), "Ann");
  EXPECT_EQ(w.at("members").as_array().size(), 1u) << "without presence: itself only";
  sse_client header_token(server.port(), "/sse/news", {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(header_token.status(), 200u);
  EXPECT_EQ(server.log().find(token.substr(token.rfind('.') + 1)), std::string::npos) << "the token reached the log";
}

TEST(sse, an_expired_token_ends_the_stream_with_1008) {
  std::string const secret = "sse-secret-exp";
  crier_process server{{"--token-secret", secret, "--token-leeway", "0"}};
  token_request r;
  r.sub = "ann";
  r.rooms = {{"news", all_permissions}};
  r.ttl = std::chrono::seconds(2);
  sse_client s(server.port(), "/sse/news?token=" + sign_hs256_token(secret, r));
  ASSERT_EQ(s.status(), 200u);
  welcome_of(s);
  auto const close = s.next_of("close", 5s).json();
  EXPECT_EQ(close.at("code").as_int64(), 1008);
  EXPECT_EQ(close.at("reason").as_string(), "token expired");
  EXPECT_FALSE(s.next(3s)) << "the stream ends after its close event";
  EXPECT_TRUE(s.ended());
}

TEST(sse, max_connections_counts_event_streams) {
  crier_process server{{"--max-connections", "2"}};
  sse_client a(server.port(), "/sse/lobby");
  ws_client b(server.port(), "/ws/lobby");
  EXPECT_EQ(sse_client(server.port(), "/sse/lobby").status(), 503u);
  EXPECT_EQ(try_upgrade(server.port(), "/ws/lobby").status, boost::beast::http::status::service_unavailable);
  a.close();
  // The slot comes back once the server has seen the stream go.
  auto const deadline = std::chrono::steady_clock::now() + 5s;
  unsigned status = 0;
  while (std::chrono::steady_clock::now() < deadline && (status = sse_client(server.port(), "/sse/lobby").status()) != 200u) {
    server.wait_for_line(std::regex("sse close"), 100ms);
  }
  EXPECT_EQ(status, 200u);
}

TEST(sse, a_stalled_reader_is_cut_at_its_bound_while_the_others_get_everything) {
  crier_process server{{"--max-queue-bytes", "64KiB", "--max-queue-messages", "256", "--close-timeout", "1s"}};
  // A reader that stops reading after the head, with a small socket buffer.
  sse_client stalled(server.port(), "/sse/busy?name=stalled", {}, 5s, 4096);
  ASSERT_EQ(stalled.status(), 200u);
  sse_client reader(server.port(), "/sse/busy?name=reader");
  json_client member(server.port(), "/ws/busy?name=member");
  member.next_of("welcome");
  welcome_of(reader);

  // Well past what the kernel buffers between the server and the stalled reader (a few MiB).
  constexpr int count = 4000;
  std::string const filler(1500, 'x');
  // The sender keeps at most `window` messages ahead of the readers that keep reading (well within
  // their bound, however slowly this machine runs them), so only the stalled one falls behind.
  constexpr int window = 24;
  std::atomic<int> reader_got{0}, member_got{0};
  auto const sender = std::async(std::launch::async, [&] {
    ws_client raw(server.port(), "/ws/busy");
    auto const deadline = std::chrono::steady_clock::now() + 60s;
    for (int i = 1; i <= count; ++i) {
      while (std::min(reader_got.load(), member_got.load()) < i - window && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
      raw.send_text(std::to_string(i) + " " + filler);
      raw.receive(10s);
    }
    raw.close();
  });
  // The others get every message, in order, while the stalled one is cut. Each is read on its own
  // thread: one waiting for the other would make it a slow consumer too.
  auto member_done = std::async(std::launch::async, [&] {
    while (member_got < count && member.next_of("message", 10s).at("seq").as_int64() == member_got + 1) ++member_got;
  });
  try {
    while (reader_got < count && reader.next_of("message", 10s).json().at("seq").as_int64() == reader_got + 1) ++reader_got;
  } catch (std::exception const& e) {
    ADD_FAILURE() << e.what() << " after " << reader_got << " messages (the member had " << member_got
                  << "); server's queued bytes " << scrape_metrics(server.port()).at("crier_queued_bytes") << "\n"
                  << server.log();
    reader_got = count; // let the sender and the member finish
  }
  member_done.get();
  EXPECT_EQ(reader_got, count);
  EXPECT_EQ(member_got, count);
  sender.wait();
  EXPECT_TRUE(server.wait_for_line(std::regex("sse slow consumer"), 5s)) << server.log();
  EXPECT_TRUE(server.wait_for_line(std::regex("sse close.*slow consumer"), 5s)) << server.log();
  EXPECT_EQ(scrape_metrics(server.port()).at("crier_slow_consumer_closes_total"), 1);
}

TEST(sse, under_drop_oldest_a_stalled_reader_misses_only_what_is_counted) {
  crier_process server{{"--max-queue-bytes", "64KiB", "--max-queue-messages", "256", "--slow-consumer", "drop-oldest"}};
  sse_client stalled(server.port(), "/sse/busy?name=stalled", {}, 5s, 4096);
  ASSERT_EQ(stalled.status(), 200u);
  constexpr int count = 3000;
  std::string const filler(1500, 'x');
  {
    ws_client raw(server.port(), "/ws/busy");
    for (int i = 1; i <= count; ++i) {
      raw.send_text(std::to_string(i) + " " + filler);
      raw.receive(10s);
    }
    raw.close();
  }
  // Now it reads again: what it gets is in order, and with what was dropped for it, is everything.
  std::int64_t last = 0;
  int got = 0;
  try {
    while (last < count) {
      auto const e = stalled.next_of("message", 10s);
      auto const seq = e.json().at("seq").as_int64();
      ASSERT_GT(seq, last);
      ASSERT_EQ(*e.id, id_of(std::string(e.id->substr(0, e.id->find(':'))), seq));
      last = seq;
      ++got;
    }
  } catch (std::exception const& e) {
    FAIL() << e.what() << " after seq " << last << " (" << got << " messages); server's queued bytes "
           << scrape_metrics(server.port()).at("crier_queued_bytes") << "\n" << server.log();
  }
  auto const dropped = scrape_metrics(server.port()).at("crier_slow_consumer_dropped_total");
  EXPECT_GT(dropped, 0) << "the reader did stall past the bound";
  EXPECT_EQ(got + dropped, count) << "every message was delivered or counted as dropped";
}

TEST(sse, shutdown_ends_each_stream_with_a_1001_close_event) {
  crier_process server;
  sse_client s(server.port(), "/sse/lobby");
  welcome_of(s);
  server.signal(SIGTERM);
  auto const close = s.next_of("close").json();
  EXPECT_EQ(close.at("code").as_int64(), 1001);
  EXPECT_FALSE(s.next(3s));
  EXPECT_TRUE(s.ended()) << "the last chunk ends the response";
  EXPECT_EQ(server.wait_exit(10s), 0) << server.log();
}

TEST(sse, curl_gets_events_until_the_backend_disconnects_its_user) {
  std::string const secret = "sse-curl-secret";
  crier_process server{{"--api-key", "sse-key-91", "--token-secret", secret}};
  token_request r;
  r.sub = "curl-user";
  r.rooms = {{"lobby", all_permissions}};
  std::string const cmd = "curl -sN --max-time 20 'http://127.0.0.1:" + std::to_string(server.port()) +
                          "/sse/lobby?token=" + sign_hs256_token(secret, r) + "' 2>&1";
  auto* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  ASSERT_TRUE(server.wait_for_line(std::regex("sse open"), 10s)) << server.log();
  r.sub = "ann";
  json_client ann(server.port(), "/ws/lobby?token=" + sign_hs256_token(secret, r));
  ann.next_of("welcome");
  ann.say("hello curl");
  ann.next_of("message");
  auto const d = http_call(server.port(), "POST", "/api/users/curl-user/disconnect", "",
                           {{"Authorization", "Bearer sse-key-91"}});
  ASSERT_EQ(d.response.result_int(), 200) << d.response.body();
  std::string out;
  char buf[4096];
  while (auto n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  EXPECT_EQ(pclose(pipe), 0) << out;
  EXPECT_NE(out.find("event: welcome\n"), std::string::npos) << out;
  EXPECT_NE(out.find("event: message\nid: "), std::string::npos) << out;
  EXPECT_NE(out.find(R"("text":"hello curl")"), std::string::npos) << out;
  EXPECT_NE(out.find("event: close\ndata: {\"type\":\"close\",\"code\":4000"), std::string::npos) << out;
}

// The output of `command`, read to its end.
std::string output_of(FILE* pipe) {
  std::string out;
  char buf[4096];
  while (auto n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  return out;
}

TEST(sse, a_stream_over_tls_and_the_drain_that_ends_it) {
  test_certificate tc("sse-tls");
  crier_process server{{"--tls-cert", tc.cert.string(), "--tls-key", tc.key.string(), "--api-key", "tls-key-5"}};
  auto const base = "https://127.0.0.1:" + std::to_string(server.port());
  auto* pipe = popen(("curl -skN --max-time 20 '" + base + "/sse/lobby?name=tls' 2>&1").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  ASSERT_TRUE(server.wait_for_line(std::regex("sse open"), 10s)) << server.log();
  auto* publish = popen(("curl -sk --max-time 10 -X POST -H 'Authorization: Bearer tls-key-5' -d '{\"text\":\"over tls\"}' '" +
                         base + "/api/rooms/lobby/messages' 2>&1").c_str(),
                        "r");
  ASSERT_NE(publish, nullptr);
  auto const answer = output_of(publish);
  EXPECT_EQ(pclose(publish), 0) << answer;
  ASSERT_NE(answer.find(R"("seq":1)"), std::string::npos) << answer;
  server.signal(SIGTERM);
  auto const out = output_of(pipe);
  EXPECT_EQ(pclose(pipe), 0) << out;
  EXPECT_NE(out.find(R"("text":"over tls")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"(event: close)" "\n" R"(data: {"type":"close","code":1001)"), std::string::npos) << out;
  EXPECT_EQ(server.wait_exit(10s), 0) << server.log();
}

TEST(sse_cluster, a_stream_on_one_node_gets_what_is_said_on_another) {
  if (!have_redis_server()) GTEST_FAIL() << "redis-server is missing: scripts/install-deps installs it";
  redis_process redis;
  auto const node = [&] {
    auto n = std::make_unique<crier_process>(std::vector<std::string>{
      "--redis", "redis://127.0.0.1:" + std::to_string(redis.port()), "--redis-heartbeat", "300ms"});
    EXPECT_TRUE(n->wait_for_line(std::regex("redis: connected"), 10s)) << n->log();
    return n;
  };
  auto a = node();
  auto b = node();
  sse_client s(b->port(), "/sse/lobby?name=far");
  auto const epoch = std::string(welcome_of(s).at("epoch").as_string());
  // B tells Redis of its member on its own strand: wait until A's view of the room has it.
  auto const deadline = std::chrono::steady_clock::now() + 10s;
  while (json::parse(http_get(a->port(), "/api/rooms/lobby").response.body()).at("count").as_int64() < 1)
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "A never saw the stream on B";
  json_client ann(a->port(), "/ws/lobby?name=ann");
  auto const w = ann.next_of("welcome");
  EXPECT_EQ(w.at("epoch").as_string(), epoch) << "one room, one epoch, on every node";
  EXPECT_EQ(w.at("member_count").as_int64(), 2) << "the stream on B is a member on A too";
  EXPECT_EQ(s.next_of("join").json().at("member").at("name").as_string(), "ann");
  for (int i = 1; i <= 3; ++i) ann.say("from A " + std::to_string(i));
  for (int i = 1; i <= 3; ++i) {
    auto const m = s.next_of("message");
    EXPECT_EQ(*m.id, id_of(epoch, i));
    EXPECT_EQ(m.json().at("text").as_string(), "from A " + std::to_string(i));
  }
  // Resuming on the other node works the same: ids are the cluster's.
  sse_client again(a->port(), "/sse/lobby", {{"Last-Event-ID", id_of(epoch, 1)}});
  EXPECT_TRUE(welcome_of(again).at("resumed").as_bool());
  EXPECT_EQ(*again.next_of("message").id, id_of(epoch, 2));
  EXPECT_EQ(*again.next_of("message").id, id_of(epoch, 3));
}

} // namespace
} // namespace crier::test
