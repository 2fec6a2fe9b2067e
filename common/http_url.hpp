#pragma once
// An http:// or https:// URL taken apart for a client: the `crier healthcheck` probe and the
// webhook sender (--webhook-url) both connect with it.

#include <string>
#include <string_view>
#include <variant>

namespace crier {

struct http_url {
  bool tls = false;
  std::string host; // without brackets, for the resolver
  std::string port;
  std::string target;      // the path and query, "/" when there is none
  std::string host_header; // the authority as written: the Host header
};

// http[s]://HOST[:PORT][/PATH]; HOST may be a bracketed IPv6 address. Otherwise, why not.
std::variant<http_url, std::string> parse_http_url(std::string_view url);

} // namespace crier
