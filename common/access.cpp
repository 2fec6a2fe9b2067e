#include "common/access.hpp"
#include "common/text.hpp"

#include <algorithm>
#include <cctype>

namespace crier {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '/')) s.remove_suffix(1);
  return s;
}

// "scheme://host[:port]" in a canonical form: lower case, default ports dropped.
std::string normalize_origin(std::string_view origin) {
  auto o = ascii_lower(trim(origin));
  for (auto const& [scheme, port] : {std::pair{"http://", ":80"}, std::pair{"https://", ":443"}}) {
    if (o.starts_with(scheme) && o.ends_with(port)) o.resize(o.size() - std::string_view(port).size());
  }
  return o;
}

// The host[:port] part of an origin, default ports dropped.
std::string origin_authority(std::string_view origin) {
  auto const o = normalize_origin(origin);
  auto const sep = o.find("://");
  return sep == std::string::npos ? std::string() : o.substr(sep + 3);
}

std::string normalize_host(std::string_view host) {
  auto h = ascii_lower(trim(host));
  if (h.ends_with(":80") || h.ends_with(":443")) h.resize(h.rfind(':'));
  return h;
}

} // namespace

bool origin_allowed(std::string_view origin, std::string_view host, std::string_view allowed) {
  if (origin.empty()) return true;
  allowed = trim(allowed);
  if (allowed == "*") return true;
  if (allowed.empty()) {
    auto const authority = origin_authority(origin);
    return !authority.empty() && authority == normalize_host(host);
  }
  auto const want = normalize_origin(origin);
  while (!allowed.empty()) {
    auto const comma = allowed.find(',');
    auto const item = trim(allowed.substr(0, comma));
    allowed = comma == std::string_view::npos ? std::string_view{} : allowed.substr(comma + 1);
    if (!item.empty() && normalize_origin(item) == want) return true;
  }
  return false;
}

bool token_matches(std::string_view presented, std::string_view secret) noexcept {
  // Every byte of the secret is compared whatever the presented length, so timing reveals
  // neither a matching prefix nor the secret's length beyond "longer or shorter".
  unsigned char diff = presented.size() == secret.size() ? 0 : 1;
  for (std::size_t i = 0; i < secret.size(); ++i) {
    unsigned char const p = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
    diff = static_cast<unsigned char>(diff | (p ^ static_cast<unsigned char>(secret[i])));
  }
  return diff == 0 && !secret.empty();
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The key of a query parameter, with %XX escapes decoded and in lower case, so that "TOKEN",
// "Token" and "%74oken" are all recognised as the secret they may carry.
std::string normalised_key(std::string_view key) {
  std::string out;
  for (std::size_t i = 0; i < key.size(); ++i) {
    int c = static_cast<unsigned char>(key[i]);
    if (c == '%' && i + 2 < key.size()) {
      int const hi = hex_value(key[i + 1]);
      int const lo = hex_value(key[i + 2]);
      if (hi >= 0 && lo >= 0) {
        c = hi * 16 + lo;
        i += 2;
      }
    }
    out += static_cast<char>(std::tolower(c));
  }
  return out;
}

} // namespace

std::string redact_target(std::string_view target) {
  auto const q = target.find('?');
  if (q == std::string_view::npos) return std::string(target);
  std::string out(target.substr(0, q + 1));
  auto rest = target.substr(q + 1);
  for (;;) {
    auto const amp = rest.find('&');
    auto const param = rest.substr(0, amp);
    auto const eq = param.find('=');
    if (eq != std::string_view::npos && normalised_key(param.substr(0, eq)) == "token") {
      out.append(param.substr(0, eq + 1));
      out += "***";
    } else {
      out.append(param);
    }
    if (amp == std::string_view::npos) break;
    out += '&';
    rest = rest.substr(amp + 1);
  }
  return out;
}

} // namespace crier
