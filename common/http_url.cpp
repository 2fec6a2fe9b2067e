#include "common/http_url.hpp"

namespace crier {

std::variant<http_url, std::string> parse_http_url(std::string_view url) {
  http_url out;
  if (url.starts_with("https://")) {
    out.tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    if (url.find("://") != std::string_view::npos) return "only http:// and https:// URLs are supported";
    return "not an http:// or https:// URL";
  }
  auto const slash = url.find('/');
  auto const authority = url.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  out.host_header = std::string(authority);

  std::string_view host = authority, port = out.tls ? "443" : "80";
  if (!authority.empty() && authority.front() == '[') {
    auto const close = authority.find(']');
    if (close == std::string_view::npos) return "unclosed '[' in the host";
    host = authority.substr(1, close - 1);
    auto const rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return "unexpected characters after ']'";
      port = rest.substr(1);
    }
  } else if (auto const colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return "no host";
  if (host.find('@') != std::string_view::npos) return "user information is not supported";
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
      std::stoul(std::string(port)) > 65535)
    return "'" + std::string(port) + "' is not a port";
  out.host = std::string(host);
  out.port = std::string(port);
  return out;
}

} // namespace crier
