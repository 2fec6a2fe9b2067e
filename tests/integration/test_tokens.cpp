// Signed per-user tokens on the real binary: what an upgrade is answered with for every kind of
// token, who a member is (user, name), what each permission lets through, expiry and refresh, and
// that no token reaches the log.
#include "common/token.hpp"
#include "tests/support/crier_process.hpp"
#include "tests/support/signing_keys.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace crier::test {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;

constexpr std::string_view secret = "tokens-test-secret-0123456789";

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// crier's own HS256 token for `sub` with the rooms spec of `crier token --rooms`.
std::string token_for(std::string sub, std::string const& rooms, std::chrono::seconds ttl = std::chrono::hours(1),
                      std::optional<std::string> name = std::nullopt) {
  std::string error;
  auto grants = parse_room_grants(rooms, error);
  EXPECT_TRUE(grants) << error;
  token_request request;
  request.sub = std::move(sub);
  request.name = std::move(name);
  request.rooms = grants.value_or(std::vector<room_grant>{});
  request.ttl = ttl;
  return sign_hs256_token(secret, request);
}

class tokens : public ::testing::Test {
protected:
  crier_process server{{"--token-secret", std::string(secret), "--token-leeway", "0s"}};
  std::uint16_t port() const { return server.port(); }
};

TEST_F(tokens, every_bad_token_gets_401_with_a_short_reason) {
  auto const now = unix_now();
  auto const good_claims = [&](std::string extra) {
    return R"({"sub":"ann","rooms":{"lobby":["subscribe"]})" + extra + "}";
  };
  struct bad_case {
    std::string what, token, reason;
  };
  std::vector<bad_case> const cases{
    {"malformed", "not-a-token", "malformed"},
    {"tampered payload",
     [] {
       auto t = token_for("ann", "lobby=subscribe");
       auto const dot = t.find('.');
       auto const dot2 = t.find('.', dot + 1);
       return t.substr(0, dot + 1) + base64url(R"({"sub":"root","rooms":{"*":["subscribe","publish"]}})") +
              t.substr(dot2);
     }(),
     "signature"},
    {"signed with another secret", sign_token(JWT_ALG_HS256, "another secret", good_claims("")), "signature"},
    {"alg none", unsigned_token(good_claims("")), "algorithm"},
    {"expired", sign_token(JWT_ALG_HS256, secret, good_claims(",\"exp\":" + std::to_string(now - 5))), "expired"},
    {"not yet valid", sign_token(JWT_ALG_HS256, secret, good_claims(",\"nbf\":" + std::to_string(now + 600))),
     "not yet valid"},
    {"rooms claim a string", sign_token(JWT_ALG_HS256, secret, R"({"sub":"ann","rooms":"lobby"})"), "rooms"},
    {"rooms claim an array", sign_token(JWT_ALG_HS256, secret, R"({"sub":"ann","rooms":["lobby"]})"), "rooms"},
    {"unknown permission", sign_token(JWT_ALG_HS256, secret, R"({"sub":"ann","rooms":{"lobby":["admin"]}})"), "rooms"},
    {"no sub", sign_token(JWT_ALG_HS256, secret, R"({"rooms":{"lobby":["subscribe"]}})"), "sub"},
    {"sub a number", sign_token(JWT_ALG_HS256, secret, R"({"sub":42,"rooms":{"lobby":["subscribe"]}})"), "sub"},
  };
  for (auto const& c : cases) {
    auto const a = try_upgrade(port(), "/ws/lobby?token=" + c.token);
    EXPECT_EQ(a.status, http::status::unauthorized) << c.what;
    EXPECT_NE(a.body.find(c.reason), std::string::npos) << c.what << ": " << a.body;
    EXPECT_EQ(a.body.find(c.token), std::string::npos) << c.what << ": the answer quotes the token";
  }
  EXPECT_EQ(try_upgrade(port(), "/ws/lobby").status, http::status::unauthorized) << "no token at all";
  // A huge token is refused as such, or by the header limit: never a crash.
  auto const huge = try_upgrade(port(), "/ws/lobby?token=" + std::string(6000, 'a'));
  EXPECT_TRUE(huge.status == http::status::unauthorized ||
              huge.status == http::status::request_header_fields_too_large)
    << huge.status;
  auto const metrics = scrape_metrics(port());
  EXPECT_EQ(metrics.at(R"(crier_connections_total{outcome="rejected_auth"})"), static_cast<double>(cases.size() + 2));
  // Still serving.
  EXPECT_EQ(try_upgrade(port(), "/ws/lobby?token=" + token_for("ann", "lobby=subscribe")).status,
            http::status::switching_protocols);
}

TEST_F(tokens, a_valid_token_without_the_room_gets_403_and_patterns_match_by_prefix) {
  auto const t = token_for("ann", "lobby=subscribe;ops-*=subscribe");
  EXPECT_EQ(try_upgrade(port(), "/ws/lobby?token=" + t).status, http::status::switching_protocols);
  EXPECT_EQ(try_upgrade(port(), "/ws/ops-east?token=" + t).status, http::status::switching_protocols);
  auto const other = try_upgrade(port(), "/ws/random?token=" + t);
  EXPECT_EQ(other.status, http::status::forbidden);
  EXPECT_NE(other.body.find("random"), std::string::npos) << other.body;
  EXPECT_EQ(try_upgrade(port(), "/ws/ops?token=" + t).status, http::status::forbidden) << "ops-* is not ops";
  // Publish without subscribe does not open a connection either.
  EXPECT_EQ(try_upgrade(port(), "/ws/lobby?token=" + token_for("bob", "lobby=publish")).status, http::status::forbidden);
  EXPECT_EQ(scrape_metrics(port()).at(R"(crier_connections_total{outcome="rejected_forbidden"})"), 3);
}

TEST_F(tokens, the_token_comes_as_a_bearer_header_a_query_or_a_subprotocol_that_is_never_echoed) {
  auto const t = token_for("ann", "lobby=subscribe");
  EXPECT_EQ(try_upgrade(port(), "/ws/lobby", {{http::field::authorization, "Bearer " + t}}).status,
            http::status::switching_protocols);
  EXPECT_EQ(try_upgrade(port(), "/ws/lobby?token=" + t).status, http::status::switching_protocols);
  auto const browser =
    try_upgrade(port(), "/ws/lobby", {{http::field::sec_websocket_protocol, "crier.v1, crier.token." + t}});
  EXPECT_EQ(browser.status, http::status::switching_protocols);
  EXPECT_EQ(browser.protocol, "crier.v1");
}

TEST_F(tokens, members_carry_the_user_and_the_token_s_name_wins_over_the_query) {
  json_client ann(port(), "/ws/lobby?name=Someone&token=" +
                            token_for("user-ann", "lobby=subscribe,publish,presence,history", std::chrono::hours(1), "Ann"));
  auto const welcome = ann.next_of("welcome");
  EXPECT_EQ(welcome.at("user").as_string(), "user-ann");
  EXPECT_EQ(welcome.at("name").as_string(), "Ann");
  json_client bob(port(), "/ws/lobby?name=Bob&token=" + token_for("user-bob", "*=subscribe,publish,presence,history"));
  auto const bob_welcome = bob.next_of("welcome");
  EXPECT_EQ(bob_welcome.at("name").as_string(), "Bob") << "no name claim: ?name= as before";
  bool listed = false;
  for (auto const& m : bob_welcome.at("members").as_array())
    if (m.at("user") == "user-ann" && m.at("name") == "Ann") listed = true;
  EXPECT_TRUE(listed) << json::serialize(bob_welcome);
  auto const join = ann.next_of("join");
  EXPECT_EQ(join.at("member").at("user").as_string(), "user-bob");
  bob.say("hello");
  auto const message = ann.next_of("message");
  EXPECT_EQ(message.at("from").at("user").as_string(), "user-bob");
  EXPECT_EQ(message.at("from").at("name").as_string(), "Bob");
  auto const detail = json::parse(http_get(port(), "/api/rooms/lobby").response.body());
  std::vector<std::string> users;
  for (auto const& m : detail.at("members").as_array()) users.emplace_back(m.at("user").as_string());
  std::sort(users.begin(), users.end());
  EXPECT_EQ(users, (std::vector<std::string>{"user-ann", "user-bob"}));
  bob.close();
  EXPECT_EQ(ann.next_of("leave").at("member").at("user").as_string(), "user-bob");
}

TEST_F(tokens, without_publish_a_json_member_is_told_and_a_raw_one_is_counted) {
  json_client reader(port(), "/ws/lobby?token=" + token_for("reader", "lobby=subscribe,presence"));
  reader.next_of("welcome");
  ws_client raw_reader(port(), "/ws/lobby?token=" + token_for("raw-reader", "lobby=subscribe"));
  json_client writer(port(), "/ws/lobby?token=" + token_for("writer", "lobby=subscribe,publish"));
  writer.next_of("welcome");

  reader.say("may I?");
  auto const error = reader.next_of("error");
  EXPECT_EQ(error.at("code").as_string(), "forbidden");
  raw_reader.send_text("raw attempt");
  raw_reader.send_binary("binary attempt");
  writer.say("allowed");
  // The writer's message is the first message anybody gets: neither refused one went out.
  EXPECT_EQ(writer.next_of("message").at("text").as_string(), "allowed");
  EXPECT_EQ(reader.next_of("message").at("text").as_string(), "allowed");
  auto const raw = raw_reader.receive();
  EXPECT_EQ(raw.data, "allowed");
  EXPECT_FALSE(raw.binary);
  EXPECT_EQ(scrape_metrics(port()).at("crier_forbidden_total"), 3);
}

TEST_F(tokens, without_presence_no_member_list_nor_join_or_leave_and_without_history_none) {
  json_client full(port(), "/ws/lobby?token=" + token_for("full", "lobby=subscribe,publish,presence,history"));
  full.next_of("welcome");
  full.say("before");
  full.next_of("message");

  json_client quiet(port(), "/ws/lobby?token=" + token_for("quiet", "lobby=subscribe"));
  auto const welcome = quiet.next_of("welcome");
  ASSERT_EQ(welcome.at("members").as_array().size(), 1u) << json::serialize(welcome);
  EXPECT_EQ(welcome.at("members").as_array()[0].at("user").as_string(), "quiet");
  EXPECT_TRUE(welcome.at("history").as_array().empty()) << json::serialize(welcome);
  quiet.send_json(R"({"type":"history"})");
  EXPECT_EQ(quiet.next_of("error").at("code").as_string(), "forbidden");
  quiet.send_json(R"({"type":"members"})");
  EXPECT_EQ(quiet.next_of("error").at("code").as_string(), "forbidden");

  json_client other(port(), "/ws/lobby?token=" + token_for("other", "lobby=subscribe,presence"));
  other.next_of("welcome");
  other.close();
  full.say("after");
  // The next event after the errors is the message: no join nor leave of `other` came first.
  auto const next = quiet.next();
  EXPECT_EQ(next.at("type").as_string(), "message") << json::serialize(next);
  EXPECT_EQ(next.at("text").as_string(), "after");

  // A raw member without history resumes nothing.
  ws_client raw(port(), "/ws/lobby?since=0&token=" + token_for("raw", "lobby=subscribe"));
  full.say("live");
  EXPECT_EQ(raw.receive().data, "live");
}

TEST(tokens_expiry, a_session_closes_with_1008_when_its_token_expires_unless_refreshed) {
  crier_process server({"--token-secret", std::string(secret), "--token-leeway", "0s"});
  auto const short_lived = [] { return token_for("ann", "lobby=subscribe,publish", std::chrono::seconds(3)); };
  json_client expiring(server.port(), "/ws/lobby?token=" + short_lived());
  expiring.next_of("welcome");
  json_client refreshed(server.port(), "/ws/lobby?token=" + short_lived());
  refreshed.next_of("welcome");

  // Bad refreshes change nothing: another user, an expired token, garbage.
  refreshed.send_json(R"({"type":"refresh","token":")" + token_for("bob", "lobby=subscribe") + "\"}");
  EXPECT_NE(refreshed.next_of("error").at("reason").as_string().find("another user"), std::string::npos);
  refreshed.send_json(R"({"type":"refresh","token":")" +
                      sign_token(JWT_ALG_HS256, secret,
                                 R"({"sub":"ann","rooms":{"lobby":["subscribe"]},"exp":)" + std::to_string(unix_now() - 60) + "}") +
                      "\"}");
  EXPECT_NE(refreshed.next_of("error").at("reason").as_string().find("expired"), std::string::npos);
  refreshed.send_json(R"({"type":"refresh","token":"garbage"})");
  EXPECT_EQ(refreshed.next_of("error").at("code").as_string(), "invalid_token");
  // A good one moves the expiry an hour on.
  refreshed.send_json(R"({"type":"refresh","token":")" + token_for("ann", "lobby=subscribe") + "\"}");
  auto const ok = refreshed.next_of("refreshed");
  EXPECT_GT(ok.at("exp").as_int64(), unix_now() + 3000);

  auto const end = expiring.read(6s);
  EXPECT_EQ(end.ec, websocket::error::closed) << end.ec.message() << " " << end.message.data;
  EXPECT_EQ(expiring.close_code(), 1008);
  EXPECT_EQ(expiring.close_reason(), "token expired");
  // The refreshed one outlives the first token's expiry, and still works.
  refreshed.say("still here");
  EXPECT_EQ(refreshed.next_of("message", 5s).at("text").as_string(), "still here");
  EXPECT_TRUE(server.wait_for_line(std::regex("token expired"), 1s)) << server.log();
}

TEST(tokens_keys, a_public_key_verifies_rs256_and_refuses_hs_tokens_other_keys_issuers_and_audiences) {
  auto const dir = std::filesystem::temp_directory_path() / ("crier-keys-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto const rsa = dir / "rsa.pem";
  std::ofstream(rsa) << rsa_keys().public_pem;
  crier_process server({"--token-public-key", rsa.string(), "--token-issuer", "https://issuer.example",
                        "--token-audience", "crier"});
  auto const claims = [](std::string extra = {}) {
    return R"({"sub":"ann","rooms":{"lobby":["subscribe"]},"iss":"https://issuer.example","aud":["x","crier"])" +
           extra + "}";
  };
  EXPECT_EQ(try_upgrade(server.port(), "/ws/lobby?token=" + sign_token(JWT_ALG_RS256, rsa_keys().private_pem, claims())).status,
            http::status::switching_protocols);
  // HS/RS confusion: an HS256 token "signed" with the public key as its secret.
  auto const confused = try_upgrade(server.port(), "/ws/lobby?token=" + sign_token(JWT_ALG_HS256, rsa_keys().public_pem, claims()));
  EXPECT_EQ(confused.status, http::status::unauthorized);
  EXPECT_NE(confused.body.find("algorithm"), std::string::npos) << confused.body;
  // Another key pair's signature, the wrong issuer, the wrong audience.
  EXPECT_EQ(try_upgrade(server.port(), "/ws/lobby?token=" + sign_token(JWT_ALG_ES256, ec_keys().private_pem, claims())).status,
            http::status::unauthorized);
  EXPECT_EQ(try_upgrade(server.port(),
                    "/ws/lobby?token=" + sign_token(JWT_ALG_RS256, rsa_keys().private_pem,
                                                    R"({"sub":"ann","rooms":{"lobby":["subscribe"]},"iss":"evil","aud":"crier"})"))
              .body.find("issuer") != std::string::npos,
            true);
  EXPECT_NE(try_upgrade(server.port(),
                    "/ws/lobby?token=" + sign_token(JWT_ALG_RS256, rsa_keys().private_pem,
                                                    R"({"sub":"ann","rooms":{"lobby":["subscribe"]},"iss":"https://issuer.example","aud":"other"})"))
              .body.find("audience"),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(tokens_cli, crier_token_prints_a_token_the_server_accepts_and_nothing_logs_a_token) {
  auto const made = crier_process::run_to_exit(
    {"token", "--secret", std::string(secret), "--sub", "ann", "--name", "Ann", "--rooms", "lobby=subscribe,publish", "--ttl", "1h"});
  ASSERT_EQ(made.status, 0) << made.err;
  ASSERT_FALSE(made.out.empty());
  auto const t = made.out.substr(0, made.out.find('\n'));
  crier_process server({"--token-secret", std::string(secret), "--log-level", "debug"});
  {
    json_client c(server.port(), "/ws/lobby?token=" + t);
    auto const w = c.next_of("welcome");
    EXPECT_EQ(w.at("name").as_string(), "Ann");
    EXPECT_EQ(w.at("user").as_string(), "ann");
    c.send_json(R"({"type":"refresh","token":")" + t + "\"}");
    c.next_of("refreshed");
    c.send_json(R"({"type":"refresh","token":")" + t + "x\"}");
    c.next_of("error");
    c.close();
  }
  try_upgrade(server.port(), "/ws/lobby", {{http::field::authorization, "Bearer " + t + "x"}});
  try_upgrade(server.port(), "/ws/lobby", {{http::field::sec_websocket_protocol, "crier.v1, crier.token." + t}});
  ASSERT_TRUE(server.wait_for_line(std::regex("ws close"), 5s));
  auto const log = server.log();
  // Not the token, nor its signature, nor its payload: in any spelling the log would use.
  auto const signature = t.substr(t.rfind('.') + 1);
  auto const payload = t.substr(t.find('.') + 1, t.rfind('.') - t.find('.') - 1);
  EXPECT_EQ(log.find(signature), std::string::npos) << log;
  EXPECT_EQ(log.find(payload), std::string::npos) << log;
  EXPECT_EQ(log.find(std::string(secret)), std::string::npos) << log;
}

} // namespace
} // namespace crier::test
