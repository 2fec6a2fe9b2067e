#pragma once
// One accepted TCP connection while it speaks HTTP: the request loop and keep-alive, routing to
// the probes, the API and the static files, and the hand-off of the socket to a ws_session on a
// WebSocket upgrade. The WebSocket session never touches files.

#include "server/server_state.hpp"

#include <boost/asio/ip/tcp.hpp>

namespace crier {

// Runs the connection on the socket's own executor (a strand) until it closes or upgrades.
void start_http_connection(boost::asio::ip::tcp::socket socket, server_state& state);

} // namespace crier
