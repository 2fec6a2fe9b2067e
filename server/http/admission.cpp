#include "server/http/admission.hpp"

#include "common/access.hpp"
#include "common/handshake.hpp"
#include "common/identity.hpp"
#include "common/names.hpp"
#include "common/query.hpp"
#include "common/sse.hpp"
#include "server/logging.hpp"
#include "server/net.hpp"

#include <charconv>

namespace crier {

namespace {

// Where a session resumes from: ?since=SEQ and the room epoch it belongs to; for an event stream
// the Last-Event-ID its EventSource sends on reconnecting wins over the URL's, which is the
// stream's first position. False with `error` set when what was given cannot be read.
bool read_resume(http_request const& req, session_kind kind, join_options& join, std::string& error) {
  if (kind == session_kind::event_stream) {
    if (auto const it = req.find("Last-Event-ID"); it != req.end()) {
      auto const position = parse_event_id(it->value());
      if (!position) {
        error = "invalid Last-Event-ID: expected <epoch>:<seq>";
        return false;
      }
      join.since = position->seq;
      join.epoch = position->epoch;
      return true;
    }
  }
  auto const target = req.target();
  if (!has_query_param(target, "since")) return true;
  auto const since = query_param(target, "since");
  std::uint64_t value = 0;
  auto const* end = since ? since->data() + since->size() : nullptr;
  auto const parsed = since && !since->empty() ? std::from_chars(since->data(), end, value) : std::from_chars_result{};
  // A number past 2^64 parses to the end but with result_out_of_range, and value left at 0.
  if (!since || since->empty() || parsed.ptr != end || parsed.ec != std::errc{}) {
    error = "invalid since: expected a message seq number";
    return false;
  }
  join.since = value;
  join.epoch = query_param(target, "epoch");
  return true;
}

} // namespace

std::variant<session_params, admission_refusal> admit_session(http_request const& req, std::string room,
                                                              server_state& state, std::string const& peer,
                                                              session_kind kind) {
  std::string const what = kind == session_kind::websocket ? "ws upgrade refused: " : "sse refused: ";
  // The caller logs nothing more: each refusal is logged here, with its reason, and counted.
  auto const refuse = [&](conn_outcome outcome, http::status status, std::string body) {
    state.metrics().connection(outcome);
    return admission_refusal{status, std::move(body), status == http::status::unauthorized};
  };

  session_params p;
  p.room = std::move(room);
  p.peer = peer;
  p.format = kind == session_kind::event_stream || offers_json_subprotocol(req[http::field::sec_websocket_protocol])
               ? wire_format::json
               : wire_format::raw;

  auto const origin = req[http::field::origin];
  if (!origin_allowed(origin, req[http::field::host], state.cfg().allowed_origins)) {
    log_info(what + "origin not allowed", {{"peer", peer}, {"origin", origin}});
    return refuse(conn_outcome::rejected_origin, http::status::forbidden, "origin not allowed");
  }

  std::optional<token_claims> claims;
  if (state.tokens().enabled()) {
    // Signed per-user tokens: who the user is and what the token allows in this room.
    auto const presented = presented_token(req);
    auto verdict = presented ? state.tokens().verify(*presented) : token_error{"missing token"};
    if (auto const* error = std::get_if<token_error>(&verdict)) {
      log_info(what + "invalid token", {{"peer", peer}, {"room", p.room}, {"reason", error->reason}});
      return refuse(conn_outcome::rejected_auth, http::status::unauthorized, "invalid token: " + error->reason);
    }
    claims = std::move(std::get<token_claims>(verdict));
    p.granted = claims->for_room(p.room);
    if (!allows(p.granted, permission::subscribe)) {
      log_info(what + "the token does not allow the room", {{"peer", peer}, {"room", p.room}, {"user", claims->sub}});
      return refuse(conn_outcome::rejected_forbidden, http::status::forbidden, "the token does not allow room " + p.room);
    }
    p.identity.user = claims->sub;
    p.expires = claims->exp;
  } else if (!token_ok(req, state.cfg().auth_token)) {
    log_info(what + "missing or wrong token", {{"peer", peer}});
    return refuse(conn_outcome::rejected_auth, http::status::unauthorized, "a valid token is required");
  }

  // Identity: the token's name, else ?name= if valid, else a guest name; the id is always the
  // server's.
  p.identity.id = new_session_id();
  auto const target = req.target();
  if (claims && claims->name) {
    p.identity.name = *claims->name;
  } else if (has_query_param(target, "name")) {
    std::string error = "name is not valid percent-encoding";
    auto const raw = query_param(target, "name");
    auto name = raw ? validate_display_name(*raw, error) : std::nullopt;
    if (!name) {
      log_info(what + "invalid name", {{"peer", peer}, {"reason", error}});
      return refuse(conn_outcome::handshake_failed, http::status::bad_request, "invalid name: " + error);
    }
    p.identity.name = std::move(*name);
  } else {
    p.identity.name = guest_name();
  }

  if (std::string error; !read_resume(req, kind, p.join, error)) {
    log_info(what + "invalid resume position", {{"peer", peer}, {"reason", error}});
    return refuse(conn_outcome::handshake_failed, http::status::bad_request, std::move(error));
  }
  return p;
}

} // namespace crier
