// Signed tokens: signing and verifying, what the claims grant, and every reason a token is refused,
// the algorithm-confusion attacks included. Keys are generated here with OpenSSL; foreign tokens
// (RS256, ES256, odd claims) are signed with libjwt directly.
#include "common/names.hpp"
#include "common/token.hpp"
#include "server/token_command.hpp"
#include "tests/support/signing_keys.hpp"

#include <gtest/gtest.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <sstream>

namespace crier {
namespace {

using namespace std::chrono_literals;
using sys_clock = std::chrono::system_clock;

sys_clock::time_point const now{std::chrono::seconds(1'700'000'000)};
constexpr std::int64_t now_s = 1'700'000'000;
constexpr std::string_view secret = "correct horse battery staple";

using test::base64url;
using test::ec_keys;
using test::rsa_keys;

std::string sign(jwt_alg_t alg, std::string_view key, std::string const& claims, std::string const& headers = {}) {
  return test::sign_token(alg, key, claims, headers);
}

std::string hs256(std::string const& claims) {
  return sign(JWT_ALG_HS256, secret, claims);
}

// An HS256 token over a payload libjwt will not sign (not an object, a NUL, a number too big for
// jansson): the HMAC is made here with OpenSSL.
std::string hs256_unchecked(std::string_view payload) {
  auto const signing_input = base64url(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url(payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  EXPECT_NE(HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                 reinterpret_cast<unsigned char const*>(signing_input.data()), signing_input.size(), mac, &mac_len),
            nullptr);
  return signing_input + "." + base64url(std::string_view(reinterpret_cast<char const*>(mac), mac_len));
}

token_keys secret_keys() {
  token_keys keys;
  keys.secret = std::string(secret);
  return keys;
}

token_keys public_keys(std::string pem) {
  token_keys keys;
  keys.public_key_pem = std::move(pem);
  return keys;
}

token_claims accepted(token_verifier const& v, std::string const& token, sys_clock::time_point at = now) {
  auto r = v.verify(token, at);
  if (auto const* e = std::get_if<token_error>(&r)) {
    ADD_FAILURE() << "refused: " << e->reason;
    return {};
  }
  return std::get<token_claims>(r);
}

// The reason, checked to quote no part of the token: a reason goes to logs and to the client.
std::string refused(token_verifier const& v, std::string const& token, sys_clock::time_point at = now) {
  auto const r = v.verify(token, at);
  if (std::holds_alternative<token_claims>(r)) {
    ADD_FAILURE() << "accepted: " << token;
    return {};
  }
  auto const& reason = std::get<token_error>(r).reason;
  EXPECT_FALSE(reason.empty());
  std::string_view rest = token;
  while (!rest.empty()) {
    auto const dot = rest.find('.');
    auto const part = rest.substr(0, dot);
    if (part.size() >= 6) {
      EXPECT_EQ(reason.find(part), std::string::npos) << reason;
    }
    rest = dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
  }
  return reason;
}

std::string with_payload(std::string const& token, std::string const& payload_json) {
  auto const first = token.find('.');
  auto const second = token.find('.', first + 1);
  return token.substr(0, first + 1) + base64url(payload_json) + token.substr(second);
}

TEST(token, permissions_parse_by_name) {
  EXPECT_EQ(parse_permission("subscribe"), permission::subscribe);
  EXPECT_EQ(parse_permission("publish"), permission::publish);
  EXPECT_EQ(parse_permission("presence"), permission::presence);
  EXPECT_EQ(parse_permission("history"), permission::history);
  for (auto const* bad : {"", "Subscribe", "read", "subscribe ", "all"}) EXPECT_FALSE(parse_permission(bad)) << bad;
  EXPECT_TRUE(allows(all_permissions, permission::history));
  EXPECT_FALSE(allows(no_permissions, permission::subscribe));
}

TEST(token, signs_and_verifies_a_round_trip) {
  token_request request;
  request.sub = "user-42";
  request.name = "Ann";
  request.rooms = {{"lobby", 3}, {"ops-*", 1}};
  request.ttl = 1h;
  auto const token = sign_hs256_token(secret, request, now);
  EXPECT_EQ(std::ranges::count(token, '.'), 2);
  token_verifier const v(secret_keys());
  EXPECT_TRUE(v.enabled());
  auto const claims = accepted(v, token);
  EXPECT_EQ(claims.sub, "user-42");
  EXPECT_EQ(claims.name, "Ann");
  EXPECT_EQ(claims.exp, now_s + 3600);
  ASSERT_EQ(claims.rooms.size(), 2U);
  EXPECT_EQ(claims.for_room("lobby"), 3);
  EXPECT_EQ(claims.for_room("ops-east"), 1);
  EXPECT_EQ(claims.for_room("other"), 0);
}

TEST(token, without_ttl_there_is_no_exp_and_without_a_name_none) {
  token_request request;
  request.sub = "ann";
  request.ttl = 0s;
  auto const claims = accepted(token_verifier(secret_keys()), sign_hs256_token(secret, request, now), now + 24h * 3650);
  EXPECT_FALSE(claims.exp);
  EXPECT_FALSE(claims.name);
  EXPECT_TRUE(claims.rooms.empty());
  EXPECT_EQ(claims.for_room("lobby"), no_permissions); // no rooms claim: nothing at all
}

TEST(token, a_verifier_without_keys_is_disabled) {
  EXPECT_FALSE(token_verifier(token_keys{}).enabled());
  EXPECT_TRUE(token_verifier(public_keys(rsa_keys().public_pem)).enabled());
  token_request request;
  request.sub = "ann";
  EXPECT_EQ(refused(token_verifier(token_keys{}), sign_hs256_token(secret, request, now)), "algorithm not allowed");
}

TEST(token, for_room_is_the_union_of_exact_and_pattern_grants) {
  token_claims claims;
  claims.rooms = {{"lobby", static_cast<permissions>(permission::subscribe)},
                  {"lob*", static_cast<permissions>(permission::publish)},
                  {"ops-*", static_cast<permissions>(permission::presence)},
                  {"ops-secret", static_cast<permissions>(permission::history)}};
  EXPECT_EQ(claims.for_room("lobby"), 3); // exact and lob*
  EXPECT_EQ(claims.for_room("lobbyist"), 2);
  EXPECT_EQ(claims.for_room("lob"), 2); // a prefix matches itself
  EXPECT_EQ(claims.for_room("ops-secret"), 12);
  EXPECT_EQ(claims.for_room("ops-"), 4);
  EXPECT_EQ(claims.for_room("ops"), 0);
  EXPECT_EQ(claims.for_room("LOBBY"), 0);  // names are case-sensitive
  EXPECT_EQ(claims.for_room("xlobby"), 0); // a prefix, not a substring
  claims.rooms.push_back({"*", static_cast<permissions>(permission::subscribe)});
  EXPECT_EQ(claims.for_room("anything"), 1);
  EXPECT_EQ(claims.for_room("ops-secret"), 13);
}

TEST(token, rooms_claim_from_a_foreign_issuer) {
  auto const claims = accepted(token_verifier(secret_keys()),
                               hs256(R"({"sub":"ann","rooms":{"lobby":["subscribe","publish","history"],)"
                                     R"("*":["subscribe"],"team-":[]}})"));
  EXPECT_EQ(claims.for_room("lobby"), 11);
  EXPECT_EQ(claims.for_room("elsewhere"), 1);
  EXPECT_EQ(claims.for_room("team-"), 1);
}

TEST(token, alg_none_is_refused_whatever_the_keys) {
  auto const header = base64url(R"({"alg":"none","typ":"JWT"})");
  auto const payload = base64url(R"({"sub":"admin","rooms":{"*":["subscribe","publish","presence","history"]}})");
  auto const token = header + "." + payload + ".";
  EXPECT_EQ(refused(token_verifier(secret_keys()), token), "algorithm not allowed");
  EXPECT_EQ(refused(token_verifier(public_keys(rsa_keys().public_pem)), token), "algorithm not allowed");
  auto const upper = base64url(R"({"alg":"NONE"})") + "." + payload + ".";
  EXPECT_EQ(refused(token_verifier(secret_keys()), upper), "algorithm not allowed");
  // With a signature made up, the same.
  EXPECT_EQ(refused(token_verifier(secret_keys()), token + "c2ln"), "algorithm not allowed");
}

TEST(token, rs256_and_es256_verify_with_the_public_key) {
  auto const claims_json = R"({"sub":"ann","name":"Ann","rooms":{"lobby":["subscribe"]}})";
  auto const rs = sign(JWT_ALG_RS256, rsa_keys().private_pem, claims_json);
  auto const rsa_claims = accepted(token_verifier(public_keys(rsa_keys().public_pem)), rs);
  EXPECT_EQ(rsa_claims.sub, "ann");
  EXPECT_EQ(rsa_claims.for_room("lobby"), 1);
  for (auto alg : {JWT_ALG_RS384, JWT_ALG_RS512})
    EXPECT_EQ(
        accepted(token_verifier(public_keys(rsa_keys().public_pem)), sign(alg, rsa_keys().private_pem, claims_json))
            .sub,
        "ann");
  auto const es = sign(JWT_ALG_ES256, ec_keys().private_pem, claims_json);
  EXPECT_EQ(accepted(token_verifier(public_keys(ec_keys().public_pem)), es).sub, "ann");
  // The other key does not verify them.
  EXPECT_EQ(refused(token_verifier(public_keys(ec_keys().public_pem)), rs), "bad signature");
  EXPECT_EQ(refused(token_verifier(public_keys(rsa_keys().public_pem)), es), "bad signature");
  // With only a secret configured, an RS256 token is not even tried.
  EXPECT_EQ(refused(token_verifier(secret_keys()), rs), "algorithm not allowed");
}

TEST(token, hs_token_is_refused_when_only_a_public_key_is_configured) {
  EXPECT_EQ(refused(token_verifier(public_keys(rsa_keys().public_pem)), hs256(R"({"sub":"ann"})")),
            "algorithm not allowed");
}

TEST(token, hs256_signed_with_the_public_key_as_secret_is_refused) {
  // The classic confusion: the public key is public, so an attacker can HMAC with its PEM. A
  // verifier that handed libjwt the configured key whatever the alg would accept this.
  auto const& pem = rsa_keys().public_pem;
  auto const forged = sign(JWT_ALG_HS256, pem, R"({"sub":"admin","rooms":{"*":["publish"]}})");
  EXPECT_EQ(refused(token_verifier(public_keys(pem)), forged), "algorithm not allowed");
  for (auto alg : {JWT_ALG_HS384, JWT_ALG_HS512})
    EXPECT_EQ(refused(token_verifier(public_keys(pem)), sign(alg, pem, R"({"sub":"admin"})")), "algorithm not allowed");
  auto const& ec_pem = ec_keys().public_pem;
  EXPECT_EQ(refused(token_verifier(public_keys(ec_pem)), sign(JWT_ALG_HS256, ec_pem, R"({"sub":"admin"})")),
            "algorithm not allowed");
  // With both keys configured, HS tokens are checked with the secret, never with the PEM.
  token_keys both = secret_keys();
  both.public_key_pem = pem;
  EXPECT_EQ(refused(token_verifier(both), forged), "bad signature");
  EXPECT_EQ(accepted(token_verifier(both), hs256(R"({"sub":"ann"})")).sub, "ann");
  EXPECT_EQ(accepted(token_verifier(both), sign(JWT_ALG_RS256, rsa_keys().private_pem, R"({"sub":"ann"})")).sub, "ann");
}

TEST(token, tampering_and_wrong_secrets_are_bad_signatures) {
  token_verifier const v(secret_keys());
  auto const token = hs256(R"({"sub":"ann","rooms":{"lobby":["subscribe"]}})");
  EXPECT_EQ(refused(v, with_payload(token, R"({"sub":"ann","rooms":{"*":["publish"]}})")), "bad signature");
  EXPECT_EQ(refused(v, with_payload(token, R"({"sub":"bob","rooms":{"lobby":["subscribe"]}})")), "bad signature");
  auto flipped = token;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(refused(v, flipped), "bad signature");
  EXPECT_EQ(refused(v, token.substr(0, token.rfind('.') + 1)), "bad signature"); // signature removed
  EXPECT_EQ(refused(v, sign(JWT_ALG_HS256, "another secret", R"({"sub":"ann"})")), "bad signature");
  // The header's alg changed to another HMAC: the signature no longer matches.
  auto const first = token.find('.');
  auto const relabelled = base64url(R"({"alg":"HS512","typ":"JWT"})") + token.substr(first);
  EXPECT_EQ(refused(v, relabelled), "bad signature");
}

TEST(token, exp_and_nbf_with_and_without_leeway) {
  token_verifier const v(secret_keys()); // default leeway: 30 s
  auto const at = [](char const* claim, std::int64_t t) {
    return hs256(R"({"sub":"ann",")" + std::string(claim) + R"(":)" + std::to_string(t) + "}");
  };
  EXPECT_EQ(accepted(v, at("exp", now_s + 1)).exp, now_s + 1);
  EXPECT_EQ(accepted(v, at("exp", now_s - 29)).exp, now_s - 29); // within the leeway
  EXPECT_EQ(refused(v, at("exp", now_s - 30)), "token expired");
  EXPECT_EQ(refused(v, at("exp", 0)), "token expired");
  accepted(v, at("nbf", now_s + 30));
  accepted(v, at("nbf", now_s - 1000));
  EXPECT_EQ(refused(v, at("nbf", now_s + 31)), "token not yet valid");

  token_keys strict = secret_keys();
  strict.leeway = 0s;
  token_verifier const s(strict);
  accepted(s, at("exp", now_s + 1));
  EXPECT_EQ(refused(s, at("exp", now_s)), "token expired"); // RFC 7519: now must be before exp
  EXPECT_EQ(refused(s, at("exp", now_s - 1)), "token expired");
  accepted(s, at("nbf", now_s));
  EXPECT_EQ(refused(s, at("nbf", now_s + 1)), "token not yet valid");

  token_keys lenient = secret_keys();
  lenient.leeway = std::chrono::seconds::max(); // bounded inside, no overflow
  accepted(token_verifier(lenient), at("exp", now_s - 3600));
  token_keys negative = secret_keys();
  negative.leeway = -100s; // read as none
  EXPECT_EQ(refused(token_verifier(negative), at("exp", now_s)), "token expired");
}

TEST(token, exp_and_nbf_of_the_wrong_type_are_refused) {
  token_verifier const v(secret_keys());
  for (auto const* exp : {R"("9999999999")", "1.7e12", "true", "null", "[1]", "{}", "1700000000.5"})
    EXPECT_EQ(refused(v, hs256(R"({"sub":"ann","exp":)" + std::string(exp) + "}")), "invalid exp") << exp;
  EXPECT_EQ(refused(v, hs256(R"({"sub":"ann","nbf":"0"})")), "invalid nbf");
}

TEST(token, issuer_and_audience) {
  token_keys keys = secret_keys();
  keys.issuer = "https://auth.example";
  keys.audience = "crier";
  token_verifier const v(keys);
  accepted(v, hs256(R"({"sub":"ann","iss":"https://auth.example","aud":"crier"})"));
  accepted(v, hs256(R"({"sub":"ann","iss":"https://auth.example","aud":["other","crier"]})"));
  EXPECT_EQ(refused(v, hs256(R"({"sub":"ann","aud":"crier"})")), "wrong issuer");
  EXPECT_EQ(refused(v, hs256(R"({"sub":"ann","iss":"https://evil.example","aud":"crier"})")), "wrong issuer");
  EXPECT_EQ(refused(v, hs256(R"({"sub":"ann","iss":["https://auth.example"],"aud":"crier"})")), "wrong issuer");
  EXPECT_EQ(refused(v, hs256(R"({"sub":"ann","iss":"https://auth.example"})")), "wrong audience");
  EXPECT_EQ(refused(v, hs256(R"({"sub":"ann","iss":"https://auth.example","aud":"crier2"})")), "wrong audience");
  EXPECT_EQ(refused(v, hs256(R"({"sub":"ann","iss":"https://auth.example","aud":["a","b"]})")), "wrong audience");
  EXPECT_EQ(refused(v, hs256(R"({"sub":"ann","iss":"https://auth.example","aud":[]})")), "wrong audience");
  EXPECT_EQ(refused(v, hs256(R"({"sub":"ann","iss":"https://auth.example","aud":7})")), "wrong audience");
  EXPECT_EQ(refused(v, hs256(R"({"sub":"ann","iss":"https://auth.example","aud":{"crier":1}})")), "wrong audience");
  // Unconfigured, iss and aud are not checked.
  accepted(token_verifier(secret_keys()), hs256(R"({"sub":"ann","iss":"anyone","aud":["x"]})"));
  // sign_hs256_token writes them.
  token_request request;
  request.sub = "ann";
  request.issuer = keys.issuer;
  request.audience = keys.audience;
  accepted(v, sign_hs256_token(secret, request, now));
}

TEST(token, rooms_claim_of_the_wrong_shape_is_refused) {
  token_verifier const v(secret_keys());
  for (std::string const rooms : {
           R"("lobby")",
           R"(["lobby"])",
           R"(7)",
           R"(null)",
           R"({"lobby":"subscribe"})",
           R"({"lobby":{"subscribe":true}})",
           R"({"lobby":["subscribe",1]})",
           R"({"lobby":["subscribe","admin"]})",
           R"({"lobby":["Subscribe"]})",
           R"({"bad room":["subscribe"]})",
           R"({"":["subscribe"]})",
           R"({"..":["subscribe"]})",
           R"({"a*b":["subscribe"]})",
           R"({"a**":["subscribe"]})",
           R"({"*a":["subscribe"]})",
           R"({"ops/*":["subscribe"]})",
           R"({"lobby":["subscribe"],"x y":["publish"]})",
       }) {
    EXPECT_EQ(refused(v, hs256(R"({"sub":"ann","rooms":)" + rooms + "}")), "invalid rooms claim") << rooms;
  }
  auto const long_name = std::string(max_room_name_length + 1, 'a');
  EXPECT_EQ(refused(v, hs256(R"({"sub":"ann","rooms":{")" + long_name + R"(":["subscribe"]}})")),
            "invalid rooms claim");
  EXPECT_EQ(refused(v, hs256(R"({"sub":"ann","rooms":{")" + long_name + R"(*":["subscribe"]}})")),
            "invalid rooms claim");
  accepted(v, hs256(R"({"sub":"ann","rooms":{")" + long_name.substr(1) + R"(*":["subscribe"]}})"));
}

TEST(token, sub_is_required_and_checked) {
  token_verifier const v(secret_keys());
  EXPECT_EQ(refused(v, hs256(R"({"name":"Ann"})")), "missing sub");
  EXPECT_EQ(refused(v, hs256(R"({"sub":""})")), "missing sub");
  for (auto const* sub : {"42", "null", "true", R"(["ann"])", R"({"id":"ann"})", R"("a\nb")", R"("\u0085ann")",
                          R"("tab\there")", R"("del\u007f")"}) {
    auto const token = hs256(R"({"sub":)" + std::string(sub) + "}");
    EXPECT_EQ(refused(v, token), "invalid sub") << sub;
  }
  auto const longest = std::string(128, 's');
  EXPECT_EQ(accepted(v, hs256(R"({"sub":")" + longest + R"("})")).sub, longest);
  EXPECT_EQ(refused(v, hs256(R"({"sub":")" + longest + R"(s"})")), "invalid sub");
  EXPECT_EQ(accepted(v, hs256(R"({"sub":"user|ünïcödé 🎉"})")).sub, "user|ünïcödé 🎉");
}

TEST(token, name_is_a_valid_display_name) {
  token_verifier const v(secret_keys());
  EXPECT_EQ(accepted(v, hs256(R"({"sub":"ann","name":"  Ann  "})")).name, "Ann"); // trimmed like ?name=
  EXPECT_EQ(refused(v, hs256(R"({"sub":"ann","name":7})")), "invalid name: name must be a string");
  EXPECT_EQ(refused(v, hs256(R"({"sub":"ann","name":null})")), "invalid name: name must be a string");
  EXPECT_EQ(refused(v, hs256(R"({"sub":"ann","name":""})")), "invalid name: name must not be empty");
  EXPECT_EQ(refused(v, hs256(R"({"sub":"ann","name":"a\u0007b"})")),
            "invalid name: name must not contain control characters");
  EXPECT_EQ(refused(v, hs256(R"({"sub":"ann","name":"evil\u202Eeman"})")).rfind("invalid name: ", 0), 0U);
  EXPECT_EQ(refused(v, hs256(R"({"sub":"ann","name":")" + std::string(33, 'n') + R"("})")),
            "invalid name: name is longer than 32 characters");
}

TEST(token, sizes_and_garbage) {
  token_verifier const v(secret_keys());
  EXPECT_EQ(refused(v, ""), "missing token");
  EXPECT_EQ(refused(v, std::string(max_token_length + 1, 'a')), "token too large");
  EXPECT_EQ(refused(v, std::string(max_token_length, 'a')), "malformed token");
  // A valid signature over a payload that makes the token too long still never reaches libjwt.
  auto const big = hs256(R"({"sub":"ann","pad":")" + std::string(max_token_length, 'p') + R"("})");
  EXPECT_EQ(refused(v, big), "token too large");
  for (std::string const& garbage :
       std::vector<std::string>{"a", ".", "..", "...", "a.b", "a.b.c", "Bearer x.y.z", "eyJ.eyJ.", "%%%.%%%.%%%",
                                "{\"alg\":\"HS256\"}", std::string("\0\0\0", 3), "\xff\xfe.\xff.\xff"}) {
    auto const reason = refused(v, garbage);
    EXPECT_TRUE(reason == "malformed token" || reason == "algorithm not allowed") << reason;
  }
  auto const token = hs256(R"({"sub":"ann"})");
  EXPECT_EQ(refused(v, token + ".extra"), "bad signature");
  refused(v, " " + token);
  // libjwt reads a C string: what follows a NUL would ride along unsigned.
  EXPECT_EQ(refused(v, token + std::string(1, '\0') + "junk"), "malformed token");
  // Headers libjwt does not accept, and payloads that are not a claims object.
  auto const payload = base64url(R"({"sub":"ann"})");
  for (auto const* header : {R"({"typ":"JWT"})", R"({"alg":5})", R"({"alg":"HS1024"})", R"({"alg":"PS256"})", "[]", "7",
                             R"({"alg":"HS256")", R"({"alg":"HS256","typ":"JOSE"})"}) {
    auto const reason = refused(v, base64url(header) + "." + payload + ".c2ln");
    EXPECT_TRUE(reason == "malformed token" || reason == "algorithm not allowed") << header << ": " << reason;
  }
  EXPECT_EQ(refused(v, with_payload(token, R"(["sub","ann"])")), "bad signature");
}

TEST(token, payloads_libjwt_will_not_sign_are_refused_even_when_signed) {
  token_verifier const v(secret_keys());
  EXPECT_EQ(accepted(v, hs256_unchecked(R"({"sub":"ann"})")).sub, "ann"); // the helper signs correctly
  for (auto const* payload : {R"(["sub","ann"])", R"("ann")", "7", "", "{", R"({"sub":"ann"} x)"})
    EXPECT_EQ(refused(v, hs256_unchecked(payload)), "malformed token") << payload;
  // jansson refuses a NUL in a string and integers past 64 bits; whichever refuses them, they are refused.
  for (auto const* payload :
       {R"({"sub":"a\u0000b"})", R"({"sub":"ann","exp":18446744073709551615})", R"({"sub":"ann","exp":1e400})"}) {
    auto const reason = refused(v, hs256_unchecked(payload));
    EXPECT_TRUE(reason == "malformed token" || reason == "invalid sub" || reason == "invalid exp") << reason;
  }
}

TEST(token, unknown_critical_headers_are_refused) {
  auto const token = sign(JWT_ALG_HS256, secret, R"({"sub":"ann"})", R"({"crit":["exp"],"exp":1})");
  EXPECT_EQ(refused(token_verifier(secret_keys()), token), "unsupported crit header");
}

TEST(token, room_grants_parse_from_the_command_line_form) {
  std::string error;
  auto const grants = parse_room_grants("lobby=subscribe,publish;ops-*=subscribe; * = presence , history", error);
  ASSERT_TRUE(grants) << error;
  ASSERT_EQ(grants->size(), 3U);
  EXPECT_EQ((*grants)[0].pattern, "lobby");
  EXPECT_EQ((*grants)[0].granted, 3);
  EXPECT_EQ((*grants)[1].pattern, "ops-*");
  EXPECT_EQ((*grants)[1].granted, 1);
  EXPECT_EQ((*grants)[2].pattern, "*");
  EXPECT_EQ((*grants)[2].granted, 12);
  auto const one = parse_room_grants("a.b_c-D=history", error);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->at(0).granted, 8);
}

TEST(token, room_grants_errors) {
  struct bad {
    char const* spec;
    char const* says;
  };
  for (auto const& c : std::vector<bad>{
           {"", "no rooms"},
           {"  ", "no rooms"},
           {"lobby", "has no '='"},
           {"lobby=subscribe;ops", "'ops' has no '='"},
           {"=subscribe", "a room is empty"},
           {" =subscribe", "a room is empty"},
           {"lobby=subscribe;", "an entry is empty"},
           {"lobby=subscribe;;ops=publish", "an entry is empty"},
           {"bad room=subscribe", "'bad room' is not a room name"},
           {"..=subscribe", "is not a room name"},
           {"a*b=subscribe", "is not a room name"},
           {"a**=subscribe", "is not a room name"},
           {"lobby=read", "'read' is not a permission"},
           {"lobby=", "'' is not a permission"},
           {"lobby=subscribe,,publish", "'' is not a permission"},
           {"lobby=subscribe=publish", "is not a permission"},
       }) {
    std::string error;
    EXPECT_FALSE(parse_room_grants(c.spec, error)) << c.spec;
    EXPECT_NE(error.find(c.says), std::string::npos) << c.spec << ": " << error;
  }
}

TEST(token, signed_rooms_round_trip_merging_duplicates) {
  std::string error;
  token_request request;
  request.sub = "ann";
  request.rooms = *parse_room_grants("lobby=subscribe;lobby=publish;dev-*=history", error);
  auto const claims = accepted(token_verifier(secret_keys()), sign_hs256_token(secret, request, now));
  EXPECT_EQ(claims.rooms.size(), 2U);
  EXPECT_EQ(claims.for_room("lobby"), 3);
  EXPECT_EQ(claims.for_room("dev-1"), 8);
}

TEST(token, signing_needs_a_secret) {
  token_request request;
  request.sub = "ann";
  EXPECT_THROW(sign_hs256_token("", request, now), std::invalid_argument);
}

TEST(token, public_key_problems) {
  EXPECT_EQ(public_key_problem(rsa_keys().public_pem), "");
  EXPECT_EQ(public_key_problem(ec_keys().public_pem), "");
  EXPECT_NE(public_key_problem(""), "");
  EXPECT_NE(public_key_problem("not a key"), "");
  EXPECT_NE(public_key_problem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), "");
  EXPECT_NE(public_key_problem(rsa_keys().private_pem).find("private key"), std::string::npos);
  EXPECT_NE(
      public_key_problem(test::pem_pair(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")).public_pem).find("not an RSA or EC"),
      std::string::npos);
  EXPECT_NE(public_key_problem(test::pem_pair(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{1024})).public_pem)
                .find("2048"),
            std::string::npos);
  for (auto const& problem : {public_key_problem("x"), public_key_problem(rsa_keys().private_pem)})
    EXPECT_EQ(problem.find('\n'), std::string::npos) << problem;
}

// `crier token`, run in-process.
struct command_result {
  int status;
  std::string out, err;
};

command_result run_token(std::vector<std::string> const& args) {
  std::ostringstream out, err;
  int const status = run_token_command(args, out, err, now);
  return {status, out.str(), err.str()};
}

TEST(token_command, prints_a_token_the_server_accepts) {
  auto const r = run_token({"--secret", "s", "--sub", "ann", "--name", "Ann", "--rooms",
                            "lobby=subscribe,publish;ops-*=subscribe", "--ttl", "1h"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.back(), '\n');
  token_keys keys;
  keys.secret = "s";
  auto const claims = accepted(token_verifier(keys), r.out.substr(0, r.out.size() - 1));
  EXPECT_EQ(claims.sub, "ann");
  EXPECT_EQ(claims.name, "Ann");
  EXPECT_EQ(claims.exp, now_s + 3600);
  EXPECT_EQ(claims.for_room("lobby"), 3);
  EXPECT_EQ(claims.for_room("ops-1"), 1);
}

TEST(token_command, secret_from_the_environment_ttl_issuer_and_audience) {
  ::setenv("CRIER_TOKEN_SECRET", "from-env", 1);
  auto const r = run_token({"--sub", "ann", "--ttl", "0", "--issuer", "me", "--audience", "crier"});
  ::unsetenv("CRIER_TOKEN_SECRET");
  ASSERT_EQ(r.status, 0) << r.err;
  token_keys keys;
  keys.secret = "from-env";
  keys.issuer = "me";
  keys.audience = "crier";
  auto const claims = accepted(token_verifier(keys), r.out.substr(0, r.out.size() - 1), now + 24h * 3650);
  EXPECT_FALSE(claims.exp);
  EXPECT_TRUE(claims.rooms.empty());
  // A ttl under a second is rounded up, never to 0 (no expiry).
  auto const short_lived = run_token({"--secret", "s", "--sub", "ann", "--ttl", "10ms"});
  ASSERT_EQ(short_lived.status, 0);
  keys = token_keys{};
  keys.secret = "s";
  keys.leeway = 0s;
  EXPECT_EQ(accepted(token_verifier(keys), short_lived.out.substr(0, short_lived.out.size() - 1)).exp, now_s + 1);
}

TEST(token_command, help_exits_0) {
  auto const r = run_token({"--help"});
  EXPECT_EQ(r.status, 0);
  for (auto const* flag :
       {"--secret", "--sub", "--name", "--rooms", "--ttl", "--issuer", "--audience", "CRIER_TOKEN_SECRET"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
}

TEST(token_command, bad_usage_exits_2_naming_the_problem) {
  ::unsetenv("CRIER_TOKEN_SECRET");
  struct bad {
    std::vector<std::string> args;
    std::string says;
  };
  for (auto const& c : std::vector<bad>{
           {{"--sub", "ann"}, "--secret"},
           {{"--secret", "s"}, "--sub"},
           {{"--secret", "s", "--sub", "ann", "--rooms", "lobby"}, "--rooms"},
           {{"--secret", "s", "--sub", "ann", "--rooms", "lobby=admin"}, "--rooms"},
           {{"--secret", "s", "--sub", "ann", "--ttl", "soon"}, "--ttl"},
           {{"--secret", "s", "--sub", "ann", "--ttl", "-1"}, "--ttl"},
           {{"--secret", "s", "--sub", std::string(129, 'x')}, "--sub"},
           {{"--secret", "s", "--sub", "a\x01"}, "--sub"},
           {{"--secret", "s", "--sub", "ann", "--name", std::string(40, 'n')}, "--name"},
           {{"--secret", "s", "--sub", "ann", "--name", ""}, "--name"},
           {{"--secret", "s", "--sub", "ann", "--nope"}, "--nope"},
           {{"--secret", "s", "--sub", "ann", "stray"}, "stray"},
       }) {
    auto const r = run_token(c.args);
    EXPECT_EQ(r.status, 2) << c.says;
    EXPECT_EQ(r.out, "") << c.says;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
  }
}

} // namespace
} // namespace crier
