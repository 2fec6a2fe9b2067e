#include "common/token.hpp"

#include "common/names.hpp"
#include "common/utf8.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace crier {
namespace {

namespace json = boost::json;

struct jwt_deleter {
  void operator()(jwt_t* jwt) const noexcept { jwt_free(jwt); }
};
using jwt_ptr = std::unique_ptr<jwt_t, jwt_deleter>;

// libjwt 1.10 hands out its strings (jwt_get_grants_json, jwt_encode_str) from malloc: it has no
// jwt_free_str yet.
struct malloc_deleter {
  void operator()(char* p) const noexcept { std::free(p); }
};
using c_string = std::unique_ptr<char, malloc_deleter>;

constexpr std::array<std::pair<std::string_view, permission>, 4> permission_names{{
    {"subscribe", permission::subscribe},
    {"publish", permission::publish},
    {"presence", permission::presence},
    {"history", permission::history},
}};

// A leeway past this would make exp meaningless; bounding it also keeps the arithmetic far from
// overflow whatever a caller puts in token_keys.
constexpr std::int64_t max_leeway_seconds = std::int64_t{10} * 365 * 24 * 3600;

token_error refuse(std::string reason) {
  return token_error{std::move(reason)};
}

jwt_ptr decode(std::string const& token, std::string_view key) {
  jwt_t* raw = nullptr;
  auto const* k = key.empty() ? nullptr : reinterpret_cast<unsigned char const*>(key.data());
  int const rc = jwt_decode(&raw, token.c_str(), k, static_cast<int>(key.size()));
  jwt_ptr out(raw);
  if (rc != 0) out.reset();
  return out;
}

bool is_room_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

// A room name, or a prefix of room-name characters followed by one '*' ("" + '*' is every room).
bool is_valid_room_pattern(std::string_view pattern) noexcept {
  if (!pattern.ends_with('*')) return is_valid_room_name(pattern);
  auto const prefix = pattern.substr(0, pattern.size() - 1);
  return prefix.size() <= max_room_name_length && std::ranges::all_of(prefix, is_room_char);
}


// The rooms claim: {"pattern": ["permission", ...], ...}.
std::optional<std::vector<room_grant>> rooms_from_json(json::value const& claim) {
  auto const* object = claim.if_object();
  if (object == nullptr) return std::nullopt;
  std::vector<room_grant> out;
  out.reserve(object->size());
  for (auto const& [key, value] : *object) {
    std::string_view const pattern(key.data(), key.size());
    auto const* list = value.if_array();
    if (!is_valid_room_pattern(pattern) || list == nullptr) return std::nullopt;
    room_grant grant{std::string(pattern), no_permissions};
    for (auto const& item : *list) {
      auto const* name = item.if_string();
      if (name == nullptr) return std::nullopt;
      auto const p = parse_permission(std::string_view(name->data(), name->size()));
      if (!p) return std::nullopt;
      grant.granted = static_cast<permissions>(grant.granted | static_cast<permissions>(*p));
    }
    out.push_back(std::move(grant));
  }
  return out;
}

// exp and nbf: NumericDate, here whole seconds only. nullopt when it is not an integer that fits.
std::optional<std::int64_t> numeric_date(json::value const& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v.get_uint64());
  return std::nullopt;
}

bool string_equals(json::value const& v, std::string_view want) {
  auto const* s = v.if_string();
  return s != nullptr && std::string_view(s->data(), s->size()) == want;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

} // namespace

std::optional<permission> parse_permission(std::string_view name) noexcept {
  for (auto const& [text, p] : permission_names)
    if (text == name) return p;
  return std::nullopt;
}

permissions token_claims::for_room(std::string_view room) const {
  permissions out = no_permissions;
  for (auto const& grant : rooms) {
    std::string_view const pattern = grant.pattern;
    bool const matches =
        pattern.ends_with('*') ? room.starts_with(pattern.substr(0, pattern.size() - 1)) : room == pattern;
    if (matches) out = static_cast<permissions>(out | grant.granted);
  }
  return out;
}

token_verifier::token_verifier(token_keys keys)
  : keys_(std::move(keys)) {}

std::variant<token_claims, token_error> token_verifier::verify(std::string_view token,
                                                               std::chrono::system_clock::time_point now) const {
  if (token.size() > max_token_length) return refuse("token too large");
  if (token.empty()) return refuse("missing token");
  // libjwt reads a C string: bytes after a NUL would ride along with a valid token, unsigned.
  if (token.find('\0') != std::string_view::npos) return refuse("malformed token");
  std::string const text(token);

  // libjwt verifies with whatever key it is given, whatever the token's alg says: handed the
  // public key PEM for an HS256 token, it would check an HMAC keyed with that (public) PEM, which
  // anyone can forge. So the alg is read first, without a key, and decides which key, if any.
  // libjwt 1.10 reports JWT_ALG_NONE from jwt_get_alg after a decode without a key, so the alg
  // comes from the header itself, mapped by libjwt's own jwt_str_alg.
  jwt_alg_t alg = JWT_ALG_INVAL;
  {
    auto const unverified = decode(text, {});
    // libjwt leaves OpenSSL errors on this thread's queue when it fails; TLS code on the same
    // thread would mistake them for its own.
    ERR_clear_error();
    if (!unverified) return refuse("malformed token");
    auto const* name = jwt_get_header(unverified.get(), "alg");
    if (name == nullptr) return refuse("malformed token");
    alg = jwt_str_alg(name);
    // RFC 7515: a header that names critical extensions this code does not know must be refused.
    if (c_string crit{jwt_get_headers_json(unverified.get(), "crit")}) return refuse("unsupported crit header");
  }
  std::string_view key;
  switch (alg) {
  case JWT_ALG_HS256:
  case JWT_ALG_HS384:
  case JWT_ALG_HS512:
    key = keys_.secret;
    break;
  case JWT_ALG_RS256:
  case JWT_ALG_RS384:
  case JWT_ALG_RS512:
  case JWT_ALG_ES256:
  case JWT_ALG_ES384:
  case JWT_ALG_ES512:
    key = keys_.public_key_pem;
    break;
  default:
    break; // none, and anything this libjwt does not know (PS* before 1.12)
  }
  if (key.empty()) return refuse("algorithm not allowed");

  auto const jwt = decode(text, key);
  ERR_clear_error();
  if (!jwt) return refuse("bad signature");
  if (jwt_get_alg(jwt.get()) != alg) return refuse("algorithm not allowed");

  c_string const grants{jwt_get_grants_json(jwt.get(), nullptr)};
  if (!grants) return refuse("malformed token");
  boost::system::error_code ec;
  auto const payload = json::parse(grants.get(), ec);
  if (ec || !payload.is_object()) return refuse("malformed token");
  auto const& claims = payload.get_object();

  token_claims out;
  auto const* sub = claims.if_contains("sub");
  if (sub == nullptr || (sub->is_string() && sub->get_string().empty())) return refuse("missing sub");
  if (!sub->is_string()) return refuse("invalid sub");
  out.sub = std::string(sub->get_string().data(), sub->get_string().size());
  if (!is_valid_user_id(out.sub)) return refuse("invalid sub");

  if (auto const* name = claims.if_contains("name")) {
    if (!name->is_string()) return refuse("invalid name: name must be a string");
    std::string why;
    auto valid = validate_display_name(std::string_view(name->get_string().data(), name->get_string().size()), why);
    if (!valid) return refuse("invalid name: " + why);
    out.name = std::move(*valid);
  }

  if (auto const* rooms = claims.if_contains("rooms")) {
    auto grants_list = rooms_from_json(*rooms);
    if (!grants_list) return refuse("invalid rooms claim");
    out.rooms = std::move(*grants_list);
  }

  auto const now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  auto const leeway = std::clamp<std::int64_t>(keys_.leeway.count(), 0, max_leeway_seconds);
  if (auto const* exp = claims.if_contains("exp")) {
    auto const when = numeric_date(*exp);
    if (!when) return refuse("invalid exp");
    // RFC 7519 4.1.4: the current time must be before exp.
    if (*when <= now_s - leeway) return refuse("token expired");
    out.exp = *when;
  }
  if (auto const* nbf = claims.if_contains("nbf")) {
    auto const when = numeric_date(*nbf);
    if (!when) return refuse("invalid nbf");
    if (*when > now_s + leeway) return refuse("token not yet valid");
  }

  if (!keys_.issuer.empty()) {
    auto const* iss = claims.if_contains("iss");
    if (iss == nullptr || !string_equals(*iss, keys_.issuer)) return refuse("wrong issuer");
  }
  if (!keys_.audience.empty()) {
    auto const* aud = claims.if_contains("aud");
    bool ok = false;
    if (aud != nullptr && aud->is_string()) ok = string_equals(*aud, keys_.audience);
    if (aud != nullptr && aud->is_array())
      ok =
          std::ranges::any_of(aud->get_array(), [&](json::value const& v) { return string_equals(v, keys_.audience); });
    if (!ok) return refuse("wrong audience");
  }
  return out;
}

std::string public_key_problem(std::string_view pem) {
  if (pem.empty()) return "it is empty";
  if (pem.size() > INT_MAX) return "it is too large for a public key";
  if (pem.find("PRIVATE KEY") != std::string_view::npos)
    return "it holds a private key: give the server the public key only (openssl pkey -pubout)";
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) return "out of memory";
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr),
                                                          &EVP_PKEY_free);
  ERR_clear_error();
  if (!key) return "not a PEM public key (-----BEGIN PUBLIC KEY-----)";
  switch (EVP_PKEY_get_base_id(key.get())) {
  case EVP_PKEY_RSA:
    // Shorter RSA keys are within reach of factoring; NIST has disallowed them since 2013.
    if (EVP_PKEY_get_bits(key.get()) < 2048) return "an RSA key shorter than 2048 bits";
    return {};
  case EVP_PKEY_EC:
    return {};
  default:
    return "not an RSA or EC public key";
  }
}

std::string sign_hs256_token(std::string_view secret, token_request const& request,
                             std::chrono::system_clock::time_point now) {
  if (secret.empty()) throw std::invalid_argument("an HS256 token needs a secret");
  if (secret.size() > INT_MAX) throw std::invalid_argument("the secret is too long");
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) throw std::runtime_error("libjwt: out of memory");
  jwt_ptr const jwt(raw);
  auto const check = [](int rc, char const* what) {
    if (rc != 0) throw std::runtime_error(std::string("libjwt: cannot ") + what);
  };
  check(jwt_add_grant(jwt.get(), "sub", request.sub.c_str()), "add sub");
  if (request.name) check(jwt_add_grant(jwt.get(), "name", request.name->c_str()), "add name");
  if (!request.issuer.empty()) check(jwt_add_grant(jwt.get(), "iss", request.issuer.c_str()), "add iss");
  if (!request.audience.empty()) check(jwt_add_grant(jwt.get(), "aud", request.audience.c_str()), "add aud");
  auto const iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  check(jwt_add_grant_int(jwt.get(), "iat", static_cast<long>(iat)), "add iat");
  if (request.ttl.count() > 0) {
    if (request.ttl.count() > INT64_MAX - iat) throw std::invalid_argument("the ttl is too long");
    check(jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(iat + request.ttl.count())), "add exp");
  }
  if (!request.rooms.empty()) {
    // The same pattern twice would be one JSON key twice: merge them.
    json::object rooms;
    std::vector<std::pair<std::string, permissions>> merged;
    for (auto const& grant : request.rooms) {
      auto it = std::ranges::find(merged, grant.pattern, &std::pair<std::string, permissions>::first);
      if (it == merged.end())
        merged.emplace_back(grant.pattern, grant.granted);
      else
        it->second = static_cast<permissions>(it->second | grant.granted);
    }
    for (auto const& [pattern, granted] : merged) {
      json::array list;
      for (auto const& [text, p] : permission_names)
        if (allows(granted, p)) list.emplace_back(text);
      rooms[pattern] = std::move(list);
    }
    json::object claim;
    claim["rooms"] = std::move(rooms);
    check(jwt_add_grants_json(jwt.get(), json::serialize(claim).c_str()), "add rooms");
  }
  check(jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<unsigned char const*>(secret.data()),
                    static_cast<int>(secret.size())),
        "set the HS256 key");
  c_string const token{jwt_encode_str(jwt.get())};
  ERR_clear_error();
  if (!token) throw std::runtime_error("libjwt: cannot encode the token");
  return token.get();
}

std::optional<std::vector<room_grant>> parse_room_grants(std::string_view spec, std::string& error) {
  std::vector<room_grant> out;
  if (trim(spec).empty()) {
    error = "no rooms given: expected ROOM=PERM[,PERM...][;ROOM=PERM...]";
    return std::nullopt;
  }
  while (true) {
    auto const semicolon = spec.find(';');
    auto const entry = spec.substr(0, semicolon);
    if (trim(entry).empty()) {
      error = "an entry is empty (two ';' in a row, or one at an end)";
      return std::nullopt;
    }
    auto const equals = entry.find('=');
    if (equals == std::string_view::npos) {
      error = "'" + std::string(trim(entry)) + "' has no '=': expected ROOM=PERM[,PERM...]";
      return std::nullopt;
    }
    auto const room = trim(entry.substr(0, equals));
    if (room.empty()) {
      error = "a room is empty: expected ROOM=PERM[,PERM...]";
      return std::nullopt;
    }
    if (!is_valid_room_pattern(room)) {
      error = "'" + std::string(room) + "' is not a room name ([A-Za-z0-9._-], 1-64) or a prefix followed by '*'";
      return std::nullopt;
    }
    room_grant grant{std::string(room), no_permissions};
    auto list = entry.substr(equals + 1);
    while (true) {
      auto const comma = list.find(',');
      auto const name = trim(list.substr(0, comma));
      auto const p = parse_permission(name);
      if (!p) {
        error = "'" + std::string(name) + "' is not a permission (subscribe, publish, presence, history)";
        return std::nullopt;
      }
      grant.granted = static_cast<permissions>(grant.granted | static_cast<permissions>(*p));
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
    out.push_back(std::move(grant));
    if (semicolon == std::string_view::npos) break;
    spec.remove_prefix(semicolon + 1);
  }
  return out;
}

} // namespace crier
