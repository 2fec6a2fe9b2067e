// The server API on the real binary: publish (text, binary, idempotent retries, every bad body),
// history, disconnect, who may call what, and the per-route counts; then the same across two
// nodes and Redis.
#include "common/token.hpp"
#include "tests/support/crier_process.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/beast/websocket/error.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>

namespace crier::test {
namespace {

namespace json = boost::json;
namespace websocket = boost::beast::websocket;

constexpr std::string_view api_key = "api-key-for-tests-4f1c";

std::vector<std::pair<std::string, std::string>> with_key(std::vector<std::pair<std::string, std::string>> more = {}) {
  more.emplace_back("Authorization", "Bearer " + std::string(api_key));
  return more;
}

http_result post(std::uint16_t port, std::string const& target, std::string const& body,
                 std::vector<std::pair<std::string, std::string>> headers = with_key()) {
  return http_call(port, "POST", target, body, headers);
}

json::object body_of(http_result const& r) {
  auto v = json::parse(r.response.body());
  return v.as_object();
}

class api : public ::testing::Test {
protected:
  crier_process server{{"--api-key", std::string(api_key), "--max-message-size", "1KiB"}};
  std::uint16_t port() const { return server.port(); }
};

TEST(api_off, without_an_api_key_the_write_endpoints_do_not_exist) {
  crier_process server;
  EXPECT_EQ(post(server.port(), "/api/rooms/lobby/messages", R"({"text":"hi"})").response.result_int(), 404);
  EXPECT_EQ(post(server.port(), "/api/rooms/lobby/disconnect", R"({"user":"ann"})").response.result_int(), 404);
  EXPECT_EQ(post(server.port(), "/api/users/ann/disconnect", "").response.result_int(), 404);
  EXPECT_EQ(http_get(server.port(), "/api/rooms").response.result_int(), 200) << "reads stay open as before";
}

TEST_F(api, a_wrong_or_missing_key_gets_401) {
  EXPECT_EQ(post(port(), "/api/rooms/lobby/messages", R"({"text":"hi"})", {}).response.result_int(), 401);
  auto const wrong = post(port(), "/api/rooms/lobby/messages", R"({"text":"hi"})", {{"Authorization", "Bearer nope"}});
  EXPECT_EQ(wrong.response.result_int(), 401);
  EXPECT_EQ(wrong.response[boost::beast::http::field::www_authenticate], "Bearer");
  EXPECT_EQ(http_call(port(), "GET", "/api/rooms/lobby/messages", "", with_key()).response.result_int(), 405);
  EXPECT_TRUE(server.wait_for_line(std::regex("http api refused"), 2s)) << server.log();
  EXPECT_EQ(server.log().find(std::string(api_key)), std::string::npos) << "the key reached the log";
}

TEST_F(api, publish_reaches_every_member_as_a_member_s_message_would_with_its_seq) {
  json_client j(port(), "/ws/lobby");
  j.next_of("welcome");
  ws_client raw(port(), "/ws/lobby");
  auto const first = post(port(), "/api/rooms/lobby/messages", R"({"text":"from the backend"})");
  ASSERT_EQ(first.response.result_int(), 200) << first.response.body();
  auto const answer = body_of(first);
  EXPECT_EQ(answer.at("seq").as_int64(), 1);
  EXPECT_FALSE(answer.at("epoch").as_string().empty());
  auto const m = j.next_of("message");
  EXPECT_EQ(m.at("seq").as_int64(), 1);
  EXPECT_EQ(m.at("text").as_string(), "from the backend");
  EXPECT_EQ(m.at("from").at("name").as_string(), "server");
  EXPECT_EQ(raw.receive().data, "from the backend");

  auto const second =
    post(port(), "/api/rooms/lobby/messages", R"({"text":"as ann","from":{"user":"ann-7","name":"Ann"}})");
  EXPECT_EQ(body_of(second).at("seq").as_int64(), 2);
  auto const m2 = j.next_of("message");
  EXPECT_EQ(m2.at("from").at("user").as_string(), "ann-7");
  EXPECT_EQ(m2.at("from").at("name").as_string(), "Ann");

  auto const binary = post(port(), "/api/rooms/lobby/messages", std::string("\x00\x01\xff", 3),
                           with_key({{"Content-Type", "application/octet-stream"}}));
  ASSERT_EQ(binary.response.result_int(), 200) << binary.response.body();
  EXPECT_TRUE(body_of(binary).at("seq").is_null());
  EXPECT_EQ(raw.receive().data, "as ann");
  auto const b = raw.receive();
  EXPECT_TRUE(b.binary);
  EXPECT_EQ(b.data, std::string("\x00\x01\xff", 3));
}

TEST_F(api, an_idempotent_retry_returns_the_first_answer_and_publishes_nothing) {
  ws_client raw(port(), "/ws/lobby");
  auto const headers = with_key({{"Idempotency-Key", "order-1234"}});
  auto const first = post(port(), "/api/rooms/lobby/messages", R"({"text":"once"})", headers);
  auto const retry = post(port(), "/api/rooms/lobby/messages", R"({"text":"once"})", headers);
  ASSERT_EQ(retry.response.result_int(), 200);
  EXPECT_EQ(first.response.body(), retry.response.body());
  EXPECT_EQ(retry.response["Idempotent-Replayed"], "true");
  EXPECT_TRUE(first.response["Idempotent-Replayed"].empty());
  post(port(), "/api/rooms/lobby/messages", R"({"text":"next"})", with_key({{"Idempotency-Key", "order-1235"}}));
  EXPECT_EQ(raw.receive().data, "once");
  EXPECT_EQ(raw.receive().data, "next") << "the retry was published again";
  // A key is per room.
  EXPECT_EQ(body_of(post(port(), "/api/rooms/other/messages", R"({"text":"x"})", headers)).at("seq").as_int64(), 1);
}

TEST_F(api, bad_bodies_rooms_and_sizes_get_clear_errors) {
  struct bad_case {
    std::string target, body;
    std::vector<std::pair<std::string, std::string>> headers;
    unsigned status;
    std::string says;
  };
  std::string const big(1025, 'x');
  std::vector<bad_case> const cases{
    {"/api/rooms/lobby/messages", "{not json", with_key(), 400, "JSON"},
    {"/api/rooms/lobby/messages", "[1,2]", with_key(), 400, "object"},
    {"/api/rooms/lobby/messages", R"({"txt":"hi"})", with_key(), 400, "text"},
    {"/api/rooms/lobby/messages", R"({"text":5})", with_key(), 400, "text"},
    {"/api/rooms/lobby/messages", R"({"text":"hi","from":"ann"})", with_key(), 400, "from"},
    {"/api/rooms/lobby/messages", R"({"text":"hi","from":{"user":""}})", with_key(), 400, "user"},
    {"/api/rooms/lobby/messages", R"({"text":"hi","from":{"name":"\u0007"}})", with_key(), 400, "name"},
    {"/api/rooms/bad%20room/messages", R"({"text":"hi"})", with_key(), 400, "room name"},
    {"/api/rooms/lobby/messages", R"({"text":")" + big + "\"}", with_key(), 413, "max-message-size"},
    {"/api/rooms/lobby/messages", big, with_key({{"Content-Type", "application/octet-stream"}}), 413, "max-message-size"},
    {"/api/rooms/lobby/messages", "hi", with_key({{"Content-Type", "text/plain"}}), 400, "JSON"},
    {"/api/rooms/lobby/messages", R"({"text":"hi"})", with_key({{"Idempotency-Key", "has space"}}), 400, "Idempotency-Key"},
    {"/api/rooms/lobby/messages", std::string(11000, ' '), with_key(), 413, "body"},
    {"/api/rooms/lobby/disconnect", R"({})", with_key(), 400, "user"},
    {"/api/users/%00/disconnect", "", with_key(), 400, "user"},
  };
  ws_client raw(port(), "/ws/lobby");
  for (auto const& c : cases) {
    auto const r = post(port(), c.target, c.body, c.headers);
    EXPECT_EQ(r.response.result_int(), c.status) << c.target << " " << c.body.substr(0, 40) << ": " << r.response.body();
    EXPECT_NE(r.response.body().find(c.says), std::string::npos) << r.response.body();
  }
  // Nothing was published, and the server still works.
  EXPECT_EQ(body_of(post(port(), "/api/rooms/lobby/messages", R"({"text":"fine"})")).at("seq").as_int64(), 1);
  EXPECT_EQ(raw.receive().data, "fine");
  auto const metrics = scrape_metrics(port());
  EXPECT_EQ(metrics.at(R"(crier_api_requests_total{route="publish",status="400"})"), 10);
  EXPECT_EQ(metrics.at(R"(crier_api_requests_total{route="publish",status="413"})"), 3);
  EXPECT_EQ(metrics.at(R"(crier_api_requests_total{route="publish",status="200"})"), 1);
}

TEST_F(api, a_big_body_after_expect_100_continue_is_read_without_waiting) {
  std::string const text(900, 'y');
  auto const body = R"({"text":")" + text + "\"}";
  auto const cmd = "curl -sS -v --max-time 5 -X POST -H 'Authorization: Bearer " + std::string(api_key) +
                   "' -H 'Content-Type: application/json' -H 'Expect: 100-continue' --data-binary '" + body +
                   "' http://127.0.0.1:" + std::to_string(port()) + "/api/rooms/lobby/messages 2>&1";
  std::unique_ptr<FILE, decltype(&pclose)> pipe(popen(cmd.c_str(), "r"), &pclose);
  ASSERT_TRUE(pipe);
  std::string out;
  char buf[4096];
  while (auto n = std::fread(buf, 1, sizeof buf, pipe.get())) out.append(buf, n);
  EXPECT_NE(out.find("HTTP/1.1 100 Continue"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("seq":1)"), std::string::npos) << out;
}

TEST_F(api, history_pages_after_a_seq_like_crier_v1) {
  for (int i = 1; i <= 5; ++i) post(port(), "/api/rooms/lobby/messages", R"({"text":"m)" + std::to_string(i) + "\"}");
  auto const page = json::parse(http_get(port(), "/api/rooms/lobby/history?since=1&limit=2").response.body());
  auto const& messages = page.at("messages").as_array();
  ASSERT_EQ(messages.size(), 2u) << json::serialize(page);
  EXPECT_EQ(messages[0].at("seq").as_int64(), 2);
  EXPECT_EQ(messages[1].at("text").as_string(), "m3");
  EXPECT_EQ(messages[0].at("type").as_string(), "message");
  EXPECT_EQ(page.at("next").as_int64(), 3);
  EXPECT_EQ(page.at("seq").as_int64(), 5);
  auto const last = json::parse(http_get(port(), "/api/rooms/lobby/history?since=3").response.body());
  EXPECT_EQ(last.at("messages").as_array().size(), 2u);
  EXPECT_TRUE(last.at("next").is_null());
  EXPECT_EQ(http_get(port(), "/api/rooms/lobby/history?since=x").response.result_int(), 400);
  auto const none = json::parse(http_get(port(), "/api/rooms/nobody/history").response.body());
  EXPECT_TRUE(none.at("messages").as_array().empty());
}

TEST(api_tokens, with_signed_tokens_history_needs_the_api_key) {
  crier_process server({"--token-secret", "s3", "--api-key", std::string(api_key)});
  EXPECT_EQ(http_get(server.port(), "/api/rooms/lobby/history").response.result_int(), 401);
  EXPECT_EQ(http_call(server.port(), "GET", "/api/rooms/lobby/history", "", with_key()).response.result_int(), 200);
}

TEST_F(api, disconnect_closes_a_user_s_sessions_in_a_room_or_everywhere_with_4000) {
  crier_process tokens({"--token-secret", "s3cret", "--api-key", std::string(api_key)});
  auto const token = [](std::string sub) {
    token_request r;
    r.sub = std::move(sub);
    r.rooms = {{"*", all_permissions}};
    return sign_hs256_token("s3cret", r);
  };
  auto const p = tokens.port();
  json_client ann_lobby(p, "/ws/lobby?token=" + token("ann"));
  json_client ann_ops(p, "/ws/ops?token=" + token("ann"));
  json_client bob(p, "/ws/lobby?token=" + token("bob"));
  for (auto* c : {&ann_lobby, &ann_ops, &bob}) c->next_of("welcome");

  auto const room = post(p, "/api/rooms/lobby/disconnect", R"({"user":"ann"})");
  ASSERT_EQ(room.response.result_int(), 200) << room.response.body();
  EXPECT_EQ(body_of(room).at("closed_here").as_int64(), 1);
  auto end = ann_lobby.read(5s);
  while (!end.ec) end = ann_lobby.read(5s);
  EXPECT_EQ(end.ec, websocket::error::closed);
  EXPECT_EQ(ann_lobby.close_code(), 4000);
  EXPECT_EQ(ann_lobby.close_reason(), "disconnected by server");
  EXPECT_EQ(bob.next_of("leave").at("member").at("user").as_string(), "ann");

  ann_ops.say("still here");
  EXPECT_EQ(ann_ops.next_of("message").at("text").as_string(), "still here");
  auto const everywhere = post(p, "/api/users/ann/disconnect", "");
  EXPECT_EQ(body_of(everywhere).at("closed_here").as_int64(), 1);
  end = ann_ops.read(5s);
  while (!end.ec) end = ann_ops.read(5s);
  EXPECT_EQ(ann_ops.close_code(), 4000);
  bob.say("bob stays");
  EXPECT_EQ(bob.next_of("message").at("text").as_string(), "bob stays");
}

// Two nodes and Redis: a publish on node A reaches a client of node B with the seq A answered,
// and a disconnect on A closes a session on B.
TEST(api_cluster, publish_and_disconnect_reach_every_node) {
  if (!have_redis_server()) GTEST_FAIL() << "redis-server is missing: scripts/install-deps installs it";
  redis_process redis;
  auto const node = [&] {
    auto n = std::make_unique<crier_process>(std::vector<std::string>{
      "--redis", "redis://127.0.0.1:" + std::to_string(redis.port()), "--redis-heartbeat", "300ms", "--api-key",
      std::string(api_key), "--token-secret", "s3cret"});
    EXPECT_TRUE(n->wait_for_line(std::regex("redis: connected"), 10s)) << n->log();
    return n;
  };
  auto a = node();
  auto b = node();
  token_request r;
  r.sub = "carol";
  r.rooms = {{"lobby", all_permissions}};
  auto const t = sign_hs256_token("s3cret", r);
  // A browser-style client: the token as a subprotocol entry beside crier.v1.
  json_client on_b(b->port(), "/ws/lobby", "crier.v1, crier.token." + t);
  auto const welcome = on_b.next_of("welcome");
  ASSERT_TRUE(welcome.contains("user")) << json::serialize(welcome);
  EXPECT_EQ(welcome.at("user").as_string(), "carol");
  for (int i = 1; i <= 3; ++i) {
    auto const answer = post(a->port(), "/api/rooms/lobby/messages", R"({"text":"from A )" + std::to_string(i) + "\"}",
                             with_key({{"Idempotency-Key", "k" + std::to_string(i)}}));
    ASSERT_EQ(answer.response.result_int(), 200) << answer.response.body();
    auto const seq = body_of(answer).at("seq").as_int64();
    auto const m = on_b.next_of("message");
    ASSERT_TRUE(m.contains("seq")) << json::serialize(m);
    EXPECT_EQ(m.at("seq").as_int64(), seq);
    EXPECT_EQ(m.at("text").as_string(), "from A " + std::to_string(i));
  }
  // A retry on the other node is still a retry: the key is the cluster's.
  auto const retry = post(b->port(), "/api/rooms/lobby/messages", R"({"text":"from A 1"})",
                          with_key({{"Idempotency-Key", "k1"}}));
  EXPECT_EQ(retry.response["Idempotent-Replayed"], "true") << retry.response.body();
  // History through B holds A's messages.
  auto const h = json::parse(http_call(b->port(), "GET", "/api/rooms/lobby/history?since=0", "", with_key()).response.body());
  EXPECT_EQ(h.at("messages").as_array().size(), 3u) << json::serialize(h);

  auto const d = post(a->port(), "/api/users/carol/disconnect", "");
  ASSERT_EQ(d.response.result_int(), 200) << d.response.body();
  auto end = on_b.read(5s);
  while (!end.ec) end = on_b.read(5s);
  EXPECT_EQ(end.ec, websocket::error::closed);
  EXPECT_EQ(on_b.close_code(), 4000);
  for (auto* n : {a.get(), b.get()}) {
    n->signal(SIGTERM);
    EXPECT_EQ(n->wait_exit(15s), 0) << n->log();
  }
}

} // namespace
} // namespace crier::test
