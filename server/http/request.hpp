#pragma once
// The request the HTTP side reads, and the token check that the API and the upgrade share.

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>

#include <optional>
#include <string_view>

namespace crier {

// Headers only: no endpoint takes a body. An upgrade hands this same type to the session.
using http_request = boost::beast::http::request<boost::beast::http::empty_body>;

// The credentials of an `Authorization: Bearer <credentials>` header, the scheme in any case;
// nullopt for another scheme or none.
std::optional<std::string_view> bearer_credentials(std::string_view authorization);

// True when no token is configured (`secret` is empty), or when the request presents it as an
// `Authorization: Bearer` header or a ?token= query parameter (browsers cannot set headers on
// a WebSocket).
bool token_ok(http_request const& req, std::string_view secret);

} // namespace crier
