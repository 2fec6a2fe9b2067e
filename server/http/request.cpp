#include "server/http/request.hpp"

#include "common/access.hpp"
#include "common/query.hpp"
#include "common/text.hpp"
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

bool token_ok(http::request_header<> const& req, std::string_view secret) {
  if (secret.empty()) return true;
  if (auto const presented = bearer_credentials(req[http::field::authorization]);
      presented && token_matches(*presented, secret))
    return true;
  auto const query = query_param(req.target(), "token");
  if (query && token_matches(*query, secret)) return true;
  // The page offers its token as a subprotocol entry, which presented_token() finds last.
  auto const presented = presented_token(req);
  return presented && token_matches(*presented, secret);
}

std::optional<std::string> presented_token(http::request_header<> const& req) {
  if (auto const presented = bearer_credentials(req[http::field::authorization])) return std::string(*presented);
  if (auto query = query_param(req.target(), "token")) return query;
  std::optional<std::string> found;
  find_in_list(req[http::field::sec_websocket_protocol], [&](std::string_view offer) {
    if (!offer.starts_with(token_subprotocol_prefix)) return false;
    found = std::string(offer.substr(token_subprotocol_prefix.size()));
    return true;
  });
  return found;
}

} // namespace crier
