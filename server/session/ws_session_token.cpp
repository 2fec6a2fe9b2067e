// ws_session and its signed token: what the token allows in the room, a refresh that moves its
// expiry, and the close when it expires. The rest of the session is in ws_session.cpp.
#include "server/session/ws_session.hpp"

#include "server/logging.hpp"
#include "server/net.hpp"

#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/ssl.hpp>

namespace crier {

template <class Stream>
bool ws_session<Stream>::permitted(permission wanted, std::string_view what) {
  if (allows(granted_, wanted)) return true;
  state_.metrics().forbidden();
  log_debug("ws request not allowed by the token",
            {{"peer", peer_}, {"room", room_name_}, {"id", identity_.id}, {"needs", what}});
  if (format_ == wire_format::json)
    reply(render_error("forbidden", "the token does not allow " + std::string(what) + " in room " + room_name_));
  return false;
}

template <class Stream>
void ws_session<Stream>::handle_refresh(std::string_view token) {
  std::string problem;
  std::optional<std::int64_t> exp;
  if (!state_.tokens().enabled()) {
    problem = "this server does not use signed tokens";
  } else {
    auto verdict = state_.tokens().verify(token);
    if (auto const* error = std::get_if<token_error>(&verdict)) {
      problem = error->reason;
    } else {
      auto const& claims = std::get<token_claims>(verdict);
      // The member's identity and permissions are fixed for its life: a refresh only extends it.
      if (claims.sub != identity_.user) problem = "the token is for another user";
      else if (!allows(claims.for_room(room_name_), permission::subscribe)) problem = "the token does not allow this room";
      else exp = claims.exp;
    }
  }
  if (!problem.empty()) {
    state_.metrics().protocol_error();
    log_info("ws refresh refused", {{"peer", peer_}, {"room", room_name_}, {"id", identity_.id}, {"reason", problem}});
    reply(render_error("invalid_token", "refresh refused: " + problem));
    return;
  }
  expires_ = exp;
  if (!expires_ && expiry_timer_) expiry_timer_->cancel();
  log_debug("ws token refreshed", {{"peer", peer_}, {"id", identity_.id}, {"exp", exp.value_or(0)}});
  reply(render_refreshed(exp));
}

template <class Stream>
void ws_session<Stream>::arm_expiry() {
  if (!expires_ || ended_) return;
  using wall = std::chrono::system_clock;
  // The leeway that let a token past its exp at the upgrade (clocks differ) holds here too.
  auto const at = wall::time_point(std::chrono::seconds(*expires_)) + state_.cfg().token_leeway;
  if (at <= wall::now()) {
    log_info("ws token expired, closing with 1008", {{"peer", peer_}, {"room", room_name_}, {"id", identity_.id}});
    begin_close(websocket::close_code::policy_error, "token expired", false);
    return;
  }
  if (!expiry_timer_) expiry_timer_ = std::make_unique<typename decltype(expiry_timer_)::element_type>(gate_.get_executor());
  expiry_timer_->expires_at(at);
  // The handler holds the session until the timer fires or end() cancels it; then it checks the
  // expiry again, which a refresh may have moved.
  expiry_timer_->async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->arm_expiry();
  });
}

// Explicit instantiations of the members defined here, as ws_session_writer.cpp does for its own.
#define CRIER_WS_SESSION_TOKEN(Stream)                                                          \
  template bool ws_session<Stream>::permitted(permission, std::string_view);                    \
  template void ws_session<Stream>::handle_refresh(std::string_view);                           \
  template void ws_session<Stream>::arm_expiry();
CRIER_WS_SESSION_TOKEN(plain_ws_stream)
CRIER_WS_SESSION_TOKEN(tls_stream)
#undef CRIER_WS_SESSION_TOKEN

} // namespace crier
