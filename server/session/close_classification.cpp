#include "server/session/close_classification.hpp"

#include "server/net.hpp"

#include <boost/beast/websocket/error.hpp>

namespace crier {

std::uint16_t close_code_for(boost::system::error_code ec) {
  if (ec == websocket::error::message_too_big) return websocket::close_code::too_big;
  if (ec == websocket::error::bad_frame_payload) return websocket::close_code::bad_payload;
  if (ec == websocket::condition::protocol_violation) return websocket::close_code::protocol_error;
  return 0;
}

close_classification classify_close(std::uint16_t sent, boost::system::error_code ec,
                                    websocket::close_reason const& received, std::string_view sent_reason) {
  close_classification c;
  if (sent != 0) {
    // The server decided to close; the pending read ends with `closed` or `operation_aborted`, or
    // the close deadline cut off a peer that stopped reading before the frame went out.
    c.code = sent;
    c.detail = std::string(sent_reason);
  } else if (ec == websocket::error::closed || received.code != websocket::close_code::none) {
    // The peer closed. Beast keeps the close frame's reason even when answering it then failed:
    // a browser closing a tab sends its close and resets the connection at once, and the read
    // ends with the reply's error rather than `closed`.
    c.code = received.code == websocket::close_code::none ? std::uint16_t{1005} // no status sent
                                                          : static_cast<std::uint16_t>(received.code);
    c.by = closed_by::client;
    c.detail = std::string(received.reason.data(), received.reason.size());
  } else {
    c.code = close_code_for(ec); // Beast failed the connection with this code, or 0: no close frame
    c.detail = ec.message();
    if (c.code == 0) c.by = closed_by::network;
  }
  return c;
}

} // namespace crier
