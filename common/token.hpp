#pragma once
// Signed connection tokens (JWT, RFC 7519): who a user is and what they may do in which rooms.
// libjwt checks the signature; this file decides which algorithms a configured key allows and
// what the claims mean. A token carries:
//   sub    the user's id (required)
//   name   the display name (optional; wins over ?name=)
//   rooms  room names or "prefix*" patterns mapped to permissions, e.g.
//          {"lobby":["subscribe","publish"],"ops-*":["subscribe"]}
//   exp, nbf, iss, aud  checked as RFC 7519 says, with a clock leeway for exp and nbf

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace crier {

// What a member may do in a room, as bits.
enum class permission : std::uint8_t {
  subscribe = 1, // join the room and receive its messages
  publish = 2,   // send messages into it
  presence = 4,  // see who is there: the member list, join and leave
  history = 8,   // the room's history: in the welcome, on request, and resume
};
using permissions = std::uint8_t;
inline constexpr permissions no_permissions = 0;
inline constexpr permissions all_permissions = 15;
constexpr bool allows(permissions p, permission wanted) noexcept {
  return (p & static_cast<permissions>(wanted)) != 0;
}
// "subscribe", "publish", "presence", "history"; nullopt for anything else.
std::optional<permission> parse_permission(std::string_view name) noexcept;

// One entry of the rooms claim: an exact room name, or a prefix followed by '*'.
struct room_grant {
  std::string pattern;
  permissions granted = no_permissions;
};

struct token_claims {
  std::string sub;
  std::optional<std::string> name;
  std::vector<room_grant> rooms;
  std::optional<std::int64_t> exp; // seconds since the Unix epoch
  // What the token allows in `room`: the union of every grant whose pattern matches it (an exact
  // name, or a prefix* the room name starts with).
  permissions for_room(std::string_view room) const;
};

// What the server checks tokens with: from --token-secret, --token-public-key, --token-issuer,
// --token-audience and --token-leeway.
struct token_keys {
  std::string secret;         // HMAC key: HS256, HS384, HS512
  std::string public_key_pem; // RSA or EC public key: RS*, or ES* (PS* too if libjwt has it)
  std::string issuer;         // empty: iss is not checked
  std::string audience;       // empty: aud is not checked
  std::chrono::seconds leeway{30};
  bool configured() const noexcept { return !secret.empty() || !public_key_pem.empty(); }
};

// Why a token was refused, short and safe to show to the client and to log: it never quotes
// the token or any part of it.
struct token_error {
  std::string reason; // e.g. "token expired", "bad signature", "algorithm not allowed"
};

// Tokens longer than this are refused unread (a header line is bounded by 8 KiB anyway).
inline constexpr std::size_t max_token_length = 4096;

// Thread-safe: verify() only reads.
class token_verifier {
public:
  explicit token_verifier(token_keys keys);
  bool enabled() const noexcept { return keys_.configured(); }
  // Checks the signature, the algorithm against the configured keys (never "none"; HS* only when
  // a secret is configured, RS*/ES* only with a public key: no algorithm confusion), exp and nbf
  // against `now` with the leeway, iss and aud when configured, and the claims' types.
  std::variant<token_claims, token_error> verify(std::string_view token,
                                                 std::chrono::system_clock::time_point now =
                                                   std::chrono::system_clock::now()) const;

private:
  token_keys keys_;
};

// An empty string when `pem` is a PEM public key (RSA or EC) libjwt can verify with; otherwise
// what is wrong with it, for the flag's error message.
std::string public_key_problem(std::string_view pem);

// What `crier token` signs: HS256 over sub, name (when set), rooms, iat, and exp = now + ttl
// (no exp when ttl is zero). Also what the tests mint tokens with.
struct token_request {
  std::string sub;
  std::optional<std::string> name;
  std::vector<room_grant> rooms;
  std::chrono::seconds ttl{3600};
  std::string issuer;   // iss, when not empty
  std::string audience; // aud, when not empty
};
std::string sign_hs256_token(std::string_view secret, token_request const& request,
                             std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// Parses the --rooms value of `crier token`: "lobby=subscribe,publish;ops-*=subscribe" (rooms
// separated by ';', each ROOM=PERM[,PERM...]). nullopt with `error` set when it is not that.
std::optional<std::vector<room_grant>> parse_room_grants(std::string_view spec, std::string& error);

} // namespace crier
