#include "common/access.hpp"

#include <algorithm>
#include <cctype>

namespace crier {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '/')) s.remove_suffix(1);
  return s;
}

// "scheme://host[:port]" in a canonical form: lower case, default ports dropped.
std::string normalize_origin(std::string_view origin) {
  auto o = lower(trim(origin));
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
  auto h = lower(trim(host));
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

std::string redact_target(std::string_view target) {
  std::string out(target);
  auto const q = out.find('?');
  if (q == std::string::npos) return out;
  std::size_t pos = q + 1;
  while (pos < out.size()) {
    auto const amp = out.find('&', pos);
    auto const end = amp == std::string::npos ? out.size() : amp;
    if (std::string_view(out).substr(pos, end - pos).starts_with("token=")) {
      out.replace(pos + 6, end - pos - 6, "***");
      pos = pos + 6 + 3 + 1;
    } else {
      pos = end + 1;
    }
  }
  return out;
}

} // namespace crier
