#include "server/http/request.hpp"

#include "common/access.hpp"
#include "common/query.hpp"
#include "server/net.hpp"

#include <boost/beast/http/field.hpp>

namespace crier {

bool token_ok(http_request const& req, std::string_view secret) {
  if (secret.empty()) return true;
  auto const auth = req[http::field::authorization];
  constexpr std::string_view bearer = "Bearer ";
  if (auth.size() > bearer.size() && std::string_view(auth).substr(0, bearer.size()) == bearer &&
      token_matches(std::string_view(auth).substr(bearer.size()), secret))
    return true;
  auto const query = query_param(req.target(), "token");
  return query && token_matches(*query, secret);
}

} // namespace crier
