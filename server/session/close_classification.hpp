#pragma once
// How a WebSocket session ended, decided from what the server sent, how the last read ended and
// the close frame Beast received: the close code the metrics count and the "ws close" log line
// reports, who closed, and why.

#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace crier {

enum class closed_by { server, client, network };

constexpr std::string_view to_string(closed_by by) noexcept {
  switch (by) {
  case closed_by::server: return "server";
  case closed_by::client: return "client";
  case closed_by::network: return "network";
  }
  return "server";
}

struct close_classification {
  std::uint16_t code = 0; // 0: no close frame went either way (the log says 1006)
  closed_by by = closed_by::server;
  std::string detail; // the reason the server sent, the peer's close reason, or the error that ended it
};

// The close code Beast sent when it failed the connection for `ec` (RFC 6455 section 7.4), or 0
// when `ec` is not one it closes for.
std::uint16_t close_code_for(boost::system::error_code ec);

// `sent`: the close code the server decided on, sent or not, or 0, and `sent_reason` the reason
// it gave (the log reports the same words as the close frame). `ec`: how the session's last read
// ended. `received`: the close frame Beast received, if any (ws.reason()).
close_classification classify_close(std::uint16_t sent, boost::system::error_code ec,
                                    boost::beast::websocket::close_reason const& received,
                                    std::string_view sent_reason = {});

} // namespace crier
