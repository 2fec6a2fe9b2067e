#include "server/http/request.hpp"

#include "common/access.hpp"
#include "common/query.hpp"
#include "server/net.hpp"

#include <boost/beast/http/field.hpp>

#include <cctype>

namespace crier {

std::optional<std::string_view> bearer_credentials(std::string_view authorization) {
  // RFC 9110 section 11.1: the scheme is case-insensitive, and one or more spaces follow it.
  constexpr std::string_view scheme = "bearer";
  if (authorization.size() <= scheme.size() || authorization[scheme.size()] != ' ') return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) return std::nullopt;
  auto credentials = authorization.substr(scheme.size());
  while (!credentials.empty() && credentials.front() == ' ') credentials.remove_prefix(1);
  if (credentials.empty()) return std::nullopt;
  return credentials;
}

bool token_ok(http_request const& req, std::string_view secret) {
  if (secret.empty()) return true;
  if (auto const presented = bearer_credentials(req[http::field::authorization]);
      presented && token_matches(*presented, secret))
    return true;
  auto const query = query_param(req.target(), "token");
  return query && token_matches(*query, secret);
}

} // namespace crier
