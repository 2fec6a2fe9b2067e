#pragma once
// The /api/* handlers (docs/api.md): JSON about the rooms for operators and the page, and the
// server API through which an application's backend publishes into rooms, reads their history and
// disconnects users.
//
// Who may call what:
// - reads (the room list, a room's members) are open unless --auth-token is set, and then need it
//   or the API key;
// - a room's history is a read of what was said: with signed tokens on it needs the API key (or
//   it would let anyone read rooms the tokens guard), otherwise it is a read like the others;
// - writes (publish, disconnect) need --api-key, sent as `Authorization: Bearer KEY`; with no
//   API key configured they answer 404, as if they did not exist.

#include "server/http/responses.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

#include <string_view>

namespace crier {

class server_state;
struct config;

using api_request = boost::beast::http::request<boost::beast::http::string_body>;

bool is_api_path(std::string_view path) noexcept;

// True for the requests that carry a body: the server API's POSTs.
bool api_takes_body(boost::beast::http::verb method, std::string_view path) noexcept;

// The largest body the API reads: a message of --max-message-size, every byte of it JSON-escaped
// (\u00XX is six bytes), and the rest of the object. The text itself is then held to the limit.
std::size_t api_body_limit(config const& cfg) noexcept;

// The 413 for a body over api_body_limit(), counted with the API's other answers.
text_response_type api_body_too_large(boost::beast::http::request_header<> const& req, std::string_view path,
                                      server_state& state);

// The answer to `req` at `path` (one that is_api_path accepts). A coroutine, on the connection's
// executor: in cluster mode rooms and members come from Redis, and a publish waits for its seq.
// `peer` names the client in logs.
boost::asio::awaitable<text_response_type> api_response(api_request const& req, std::string_view path,
                                                        server_state& state, std::string_view peer);

} // namespace crier
