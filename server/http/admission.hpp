#pragma once
// Who may open a session, and as whom: the rules a WebSocket upgrade and an event stream share.
// The Origin (cross-site hijacking), then the token (the shared one, or a signed per-user one
// that must allow `subscribe` in the room), then the identity (the token's name, ?name=, or a
// guest name) and where to resume from (?since= and ?epoch=, or an event stream's
// Last-Event-ID). A refusal is logged and counted here, once.

#include "server/http/request.hpp"
#include "server/server_state.hpp"
#include "server/session/session_params.hpp"

#include <boost/beast/http/status.hpp>

#include <string>
#include <variant>

namespace crier {

enum class session_kind : std::uint8_t { websocket, event_stream };

struct admission_refusal {
  boost::beast::http::status status;
  std::string body;
  bool bearer_challenge = false; // a 401: answer with WWW-Authenticate: Bearer
};

std::variant<session_params, admission_refusal> admit_session(http_request const& req, std::string room,
                                                              server_state& state, std::string const& peer,
                                                              session_kind kind);

} // namespace crier
