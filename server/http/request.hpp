#pragma once
// The request the HTTP side reads, and the token check that the API and the upgrade share.

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>

#include <string_view>

namespace crier {

// Headers only: no endpoint takes a body. An upgrade hands this same type to the session.
using http_request = boost::beast::http::request<boost::beast::http::empty_body>;

// True when no token is configured (`secret` is empty), or when the request presents it as an
// `Authorization: Bearer` header or a ?token= query parameter (browsers cannot set headers on
// a WebSocket).
bool token_ok(http_request const& req, std::string_view secret);

} // namespace crier
