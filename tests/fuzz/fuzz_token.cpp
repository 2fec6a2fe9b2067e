// Fuzzes signed-token verification. The input up to its first newline is a token as a client
// presents it, and what follows a --rooms spec for `crier token`; the whole input is also the
// JSON of a rooms claim in a token signed with the fuzz secret, so that the claim checks behind
// a valid signature are fuzzed too, not only the refusals in front of it.
//
// verify() must return claims or a known reason, never crash or leak; claims must hold what
// verify() promises (a sub of 1-128 bytes of UTF-8, a valid name, valid room patterns); a rooms
// spec that parses must sign and verify back to the same grants.
#include "common/names.hpp"
#include "common/token.hpp"
#include "common/utf8.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view secret = "fuzz-secret";
// Fixed, so that an input does the same thing on every run (the seeds' tokens have no exp or a
// far one).
std::chrono::system_clock::time_point const now{std::chrono::seconds(1'700'000'000)};

std::string generate_ec_public_key() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"),
                                                          &EVP_PKEY_free);
  CRIER_FUZZ_CHECK(key != nullptr);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  CRIER_FUZZ_CHECK(PEM_write_bio_PUBKEY(bio.get(), key.get()) == 1);
  char* data = nullptr;
  auto const n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

crier::token_verifier make_verifier(bool strict) {
  crier::token_keys keys;
  keys.secret = std::string(secret);
  static std::string const pem = generate_ec_public_key();
  keys.public_key_pem = pem;
  if (strict) {
    keys.issuer = "fuzz";
    keys.audience = "crier";
  }
  return crier::token_verifier(std::move(keys));
}

bool known_reason(std::string_view reason) {
  constexpr std::array<std::string_view, 16> reasons{
      "token too large", "missing token", "malformed token",     "algorithm not allowed", "bad signature",
      "missing sub",     "invalid sub",   "invalid rooms claim", "token expired",         "token not yet valid",
      "invalid exp",     "invalid nbf",   "wrong issuer",        "wrong audience",        "unsupported crit header",
      "invalid name: ",
  };
  if (reason.starts_with("invalid name: ")) return reason.size() > 14;
  return std::ranges::find(reasons, reason) != reasons.end();
}

bool valid_pattern(std::string_view pattern) {
  if (!pattern.ends_with('*')) return crier::is_valid_room_name(pattern);
  pattern.remove_suffix(1);
  return pattern.size() <= crier::max_room_name_length && pattern.find('*') == std::string_view::npos;
}

// Checks one verify() result: a refusal has a known reason that does not quote the token; claims
// hold what verify() promises.
void check(std::variant<crier::token_claims, crier::token_error> const& result, std::string_view token) {
  if (auto const* error = std::get_if<crier::token_error>(&result)) {
    CRIER_FUZZ_CHECK(known_reason(error->reason));
    if (token.size() >= 16) CRIER_FUZZ_CHECK(error->reason.find(token) == std::string::npos);
    return;
  }
  auto const& claims = std::get<crier::token_claims>(result);
  CRIER_FUZZ_CHECK(!claims.sub.empty() && claims.sub.size() <= 128 && crier::is_valid_utf8(claims.sub));
  CRIER_FUZZ_CHECK(std::ranges::none_of(claims.sub, [](char c) { return static_cast<unsigned char>(c) < 0x20; }));
  if (claims.name) {
    std::string why;
    auto const again = crier::validate_display_name(*claims.name, why);
    CRIER_FUZZ_CHECK(again && *again == *claims.name);
  }
  for (auto const& grant : claims.rooms) {
    CRIER_FUZZ_CHECK(valid_pattern(grant.pattern));
    CRIER_FUZZ_CHECK(grant.granted <= crier::all_permissions);
    std::string_view room = grant.pattern;
    if (room.ends_with('*')) room.remove_suffix(1);
    // A grant applies to its own name (a prefix matches itself).
    CRIER_FUZZ_CHECK((claims.for_room(room) & grant.granted) == grant.granted);
  }
}

// A token over {"sub":"fuzz","rooms":<claim>} signed with the fuzz secret; empty when the claim is
// not JSON that libjwt takes.
std::string sign_with_rooms_claim(std::string const& claim) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return {};
  std::unique_ptr<jwt_t, decltype(&jwt_free)> jwt(raw, &jwt_free);
  if (jwt_add_grant(jwt.get(), "sub", "fuzz") != 0) return {};
  if (jwt_add_grants_json(jwt.get(), ("{\"rooms\":" + claim + "}").c_str()) != 0) return {};
  if (jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<unsigned char const*>(secret.data()),
                  static_cast<int>(secret.size())) != 0)
    return {};
  std::unique_ptr<char, decltype(&std::free)> token(jwt_encode_str(jwt.get()), &std::free);
  return token ? std::string(token.get()) : std::string();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  static crier::token_verifier const verifier = make_verifier(false);
  static crier::token_verifier const strict = make_verifier(true);
  std::string_view const input(reinterpret_cast<char const*>(data), size);
  auto const newline = input.find('\n');
  auto const token = input.substr(0, newline);
  auto const spec = newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1);

  check(verifier.verify(token, now), token);
  check(strict.verify(token, now), token);

  // A rooms spec that parses signs into a token that verifies back to the same grants.
  std::string error;
  if (auto const grants = crier::parse_room_grants(spec, error)) {
    CRIER_FUZZ_CHECK(!grants->empty());
    crier::token_request request;
    request.sub = "fuzz";
    request.rooms = *grants;
    auto const signed_token = crier::sign_hs256_token(secret, request, now);
    auto const result = verifier.verify(signed_token, now);
    check(result, signed_token);
    if (signed_token.size() <= crier::max_token_length) {
      auto const* claims = std::get_if<crier::token_claims>(&result);
      CRIER_FUZZ_CHECK(claims != nullptr);
      for (auto const& grant : *grants) {
        std::string_view room = grant.pattern;
        if (room.ends_with('*')) room.remove_suffix(1);
        crier::token_claims const parsed{"fuzz", std::nullopt, *grants, std::nullopt};
        CRIER_FUZZ_CHECK(claims->for_room(room) == parsed.for_room(room));
      }
    }
  } else {
    CRIER_FUZZ_CHECK(!error.empty());
  }

  // The whole input as the rooms claim, behind a valid signature: whatever it is refused for,
  // it is never the signature or the algorithm.
  auto const claimed = sign_with_rooms_claim(std::string(input));
  if (!claimed.empty()) {
    auto const result = verifier.verify(claimed, now);
    check(result, claimed);
    if (auto const* e = std::get_if<crier::token_error>(&result);
        e != nullptr && claimed.size() <= crier::max_token_length)
      CRIER_FUZZ_CHECK(e->reason != "bad signature" && e->reason != "algorithm not allowed" &&
                       e->reason != "malformed token");
  }
  return 0;
}
