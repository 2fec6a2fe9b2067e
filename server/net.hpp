#pragma once
// The spellings every networked file of the server shares: the namespace aliases, the
// error-code-returning completion token of the hot paths, and the Server header.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <string_view>

namespace boost::beast::http {}
namespace boost::beast::websocket {}

namespace crier {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

// `auto [ec, n] = co_await op(nothrow);`: errors as values, no exception on the hot path.
inline constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

// The Server header of every HTTP response and WebSocket handshake, and the client's User-Agent.
inline constexpr std::string_view server_header = "crier/" CRIER_VERSION;

} // namespace crier
