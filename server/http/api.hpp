#pragma once
// The /api/* handlers: JSON about the rooms for operators and the page, behind the token when
// there is one. Today read-only: the room list and one room's detail.

#include "server/http/request.hpp"
#include "server/http/responses.hpp"

#include <boost/asio/awaitable.hpp>

#include <string_view>

namespace crier {

class server_state;

bool is_api_path(std::string_view path) noexcept;

// The answer to `req` at `path` (one that is_api_path accepts). A coroutine, on the connection's
// strand: in cluster mode the rooms' members come from Redis. `peer` names the client in logs.
boost::asio::awaitable<text_response_type> api_response(http_request const& req, std::string_view path,
                                                        server_state& state, std::string_view peer);

} // namespace crier
