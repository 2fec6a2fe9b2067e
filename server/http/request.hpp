#pragma once
// The request the HTTP side reads, and the token check that the API and the upgrade share.

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace crier {

// Headers only: no endpoint takes a body. An upgrade hands this same type to the session.
using http_request = boost::beast::http::request<boost::beast::http::empty_body>;

// The credentials of an `Authorization: Bearer <credentials>` header, the scheme in any case;
// nullopt for another scheme or none.
std::optional<std::string_view> bearer_credentials(std::string_view authorization);

// True when no token is configured (`secret` is empty), or when the request presents it as an
// `Authorization: Bearer` header, a ?token= query parameter or a crier.token.<token>
// subprotocol entry (browsers cannot set headers on a WebSocket).
bool token_ok(boost::beast::http::request_header<> const& req, std::string_view secret);

// The subprotocol prefix under which a browser, which cannot set headers on a WebSocket, offers
// its signed token beside crier.v1: "crier.token.<jwt>". Never echoed back.
inline constexpr std::string_view token_subprotocol_prefix = "crier.token.";

// The signed token a WebSocket upgrade presents: `Authorization: Bearer`, else ?token=, else a
// crier.token.<jwt> subprotocol entry. nullopt when there is none.
std::optional<std::string> presented_token(boost::beast::http::request_header<> const& req);

} // namespace crier
