#include "server/http/api.hpp"

#include "common/access.hpp"
#include "common/api_body.hpp"
#include "common/names.hpp"
#include "common/protocol.hpp"
#include "common/query.hpp"
#include "common/static_path.hpp"
#include "server/http/request.hpp"
#include "server/logging.hpp"
#include "server/net.hpp"
#include "server/server_state.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <optional>
#include <string>

namespace crier {

namespace {
constexpr std::string_view rooms_prefix = "/api/rooms/";
constexpr std::string_view users_prefix = "/api/users/";
// How long a cluster-wide view may wait for Redis before this node's own view is answered, and a
// publish for its seq.
constexpr std::chrono::seconds cluster_view_timeout{2};
constexpr std::size_t max_idempotency_key_length = 255;

struct route_match {
  api_route route = api_route::unknown;
  std::string subject;       // the room, or the user
  bool bad_subject = false;  // the room name or user in the path is not valid
};

route_match match_route(std::string_view path) {
  if (path == "/api/rooms" || path == rooms_prefix) return {api_route::rooms, {}, false};
  if (path.starts_with(rooms_prefix)) {
    auto rest = path.substr(rooms_prefix.size());
    auto const slash = rest.find('/');
    auto const name = rest.substr(0, slash);
    auto const tail = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    route_match m{api_route::unknown, std::string(name), !is_valid_room_name(name)};
    if (slash == std::string_view::npos) m.route = api_route::room;
    else if (tail == "history") m.route = api_route::history;
    else if (tail == "messages") m.route = api_route::publish;
    else if (tail == "disconnect") m.route = api_route::disconnect_room;
    return m;
  }
  if (path.starts_with(users_prefix) && path.ends_with("/disconnect")) {
    auto const raw = path.substr(users_prefix.size(), path.size() - users_prefix.size() - std::string_view("/disconnect").size());
    route_match m{api_route::disconnect_user, {}, true};
    if (percent_decode(raw, m.subject)) m.bad_subject = !is_valid_user_id(m.subject);
    return m;
  }
  return {};
}

bool is_write(api_route r) noexcept {
  return r == api_route::publish || r == api_route::disconnect_room || r == api_route::disconnect_user;
}

bool presents_api_key(api_request const& req, std::string_view key) {
  if (key.empty()) return false;
  auto const presented = bearer_credentials(req[http::field::authorization]);
  return presented && token_matches(*presented, key);
}

text_response_type error_response(http::status status, std::string message, api_request const& req) {
  return json_response(status, {{"error", std::move(message)}}, req.version(), req.keep_alive());
}

// A JSON body of pre-rendered parts: the history's events are already JSON text.
text_response_type raw_json_response(std::string body, api_request const& req) {
  return text_response(http::status::ok, std::move(body), req.version(), req.keep_alive(), "application/json");
}

std::optional<std::size_t> parse_count(std::string_view s) {
  std::size_t v = 0;
  auto const [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

bool media_type_is(std::string_view content_type, std::string_view want) {
  auto const semicolon = content_type.find(';');
  auto type = content_type.substr(0, semicolon);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  if (type.size() != want.size()) return false;
  for (std::size_t i = 0; i < type.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(type[i])) != want[i]) return false;
  return true;
}

// Publishes through the room and waits (bounded) for its answer, on the caller's executor.
asio::awaitable<std::optional<api_publish_result>> publish_and_wait(room& r, member_info from,
                                                                    std::shared_ptr<std::string const> text,
                                                                    std::string key) {
  auto ex = co_await asio::this_coro::executor;
  // The timer is a condition variable on the caller's executor: the answer cancels it there.
  auto timer = std::make_shared<asio::steady_timer>(ex, cluster_view_timeout);
  auto result = std::make_shared<std::optional<api_publish_result>>();
  r.publish_once(std::move(from), std::move(text), std::move(key), [timer, result, ex](api_publish_result answer) {
    asio::post(ex, [timer, result, answer] {
      *result = answer;
      timer->cancel();
    });
  });
  co_await timer->async_wait(nothrow);
  co_return *result;
}

asio::awaitable<text_response_type> publish(api_request const& req, std::string const& name, server_state& state) {
  auto const& cfg = state.cfg();
  // Anything but octet-stream is read as JSON: `curl -d` labels its JSON form-urlencoded.
  bool const binary = media_type_is(req[http::field::content_type], "application/octet-stream");
  auto const key = std::string(req["Idempotency-Key"]);
  if (key.size() > max_idempotency_key_length ||
      !std::ranges::all_of(key, [](char c) { return c > ' ' && c < 0x7F; }))
    co_return error_response(http::status::bad_request, "Idempotency-Key must be 1-255 visible ASCII characters", req);
  if (binary && !key.empty())
    co_return error_response(http::status::bad_request,
                             "Idempotency-Key applies to text messages: binary ones have no seq to remember", req);

  member_info from{"server", "server", {}};
  std::shared_ptr<std::string const> payload;
  if (binary) {
    if (req.body().size() > cfg.max_message_size)
      co_return error_response(http::status::payload_too_large,
                               "the message is " + std::to_string(req.body().size()) + " bytes, over --max-message-size (" +
                                 std::to_string(cfg.max_message_size) + ")",
                               req);
    payload = std::make_shared<std::string const>(req.body());
  } else {
    auto parsed = parse_publish_body(req.body(), cfg.max_message_size);
    if (auto const* error = std::get_if<api_body_error>(&parsed))
      co_return error_response(error->too_large ? http::status::payload_too_large : http::status::bad_request, error->message,
                               req);
    auto& body = std::get<publish_body>(parsed);
    if (!body.name.empty()) from.name = std::move(body.name);
    from.user = std::move(body.user);
    payload = std::make_shared<std::string const>(std::move(body.text));
  }

  co_await state.rooms().prepare(name, cluster_view_timeout);
  auto const r = state.rooms().ensure(name);
  if (!r) co_return error_response(http::status::service_unavailable, "the room cannot be created now: the server is draining or at --max-rooms", req);
  if (state.rooms().clustered() && !state.rooms().cluster_up())
    co_return error_response(http::status::service_unavailable, "the cluster is unreachable: nothing was published", req);

  boost::json::object answer{{"seq", nullptr}, {"epoch", r->epoch()}};
  if (binary) {
    r->publish_binary(std::move(payload), from);
    co_return json_response(http::status::ok, answer, req.version(), req.keep_alive());
  }
  auto const result = co_await publish_and_wait(*r, std::move(from), std::move(payload), key);
  using outcome = api_publish_result::outcome;
  if (!result || result->what == outcome::unknown)
    co_return error_response(http::status::service_unavailable,
                             "Redis did not answer: the message may have been published; retry with the same Idempotency-Key",
                             req);
  if (result->what == outcome::unavailable)
    co_return error_response(http::status::service_unavailable, "the cluster cannot sequence messages now: nothing was published", req);
  answer["seq"] = result->seq;
  auto res = json_response(http::status::ok, answer, req.version(), req.keep_alive());
  if (result->what == outcome::duplicate) res.set("Idempotent-Replayed", "true");
  co_return res;
}

asio::awaitable<text_response_type> history(api_request const& req, std::string const& name, server_state& state) {
  auto const target = std::string_view(req.target().data(), req.target().size());
  std::uint64_t since = 0;
  std::size_t limit = 50;
  if (has_query_param(target, "since")) {
    auto const v = parse_count(query_param(target, "since").value_or(""));
    if (!v) co_return error_response(http::status::bad_request, "invalid since: expected a message seq number", req);
    since = *v;
  }
  if (has_query_param(target, "limit")) {
    auto const v = parse_count(query_param(target, "limit").value_or(""));
    if (!v || *v == 0) co_return error_response(http::status::bad_request, "invalid limit: expected a positive integer", req);
    limit = std::min(*v, max_history_page);
  }
  std::shared_ptr<room> r;
  if (state.rooms().clustered()) {
    // The cluster's history is the replica's once it is warm.
    co_await state.rooms().prepare(name, cluster_view_timeout);
    r = state.rooms().ensure(name);
  } else {
    r = state.rooms().find(name);
  }
  auto const slice = r ? r->events_after(since, limit) : room::history_slice{};
  std::string body = R"({"room":)" + json_string(name) + R"(,"epoch":)" +
                     (r ? json_string(slice.epoch) : std::string("null")) + R"(,"seq":)" + std::to_string(slice.seq) +
                     R"(,"messages":[)";
  for (std::size_t i = 0; i < slice.events.size(); ++i) {
    if (i > 0) body += ',';
    body += *slice.events[i];
  }
  body += R"(],"next":)";
  // The since of the next page, so that the caller need not parse the events to page on.
  body += slice.more ? std::to_string(slice.last) : std::string("null");
  body += '}';
  co_return raw_json_response(std::move(body), req);
}

asio::awaitable<text_response_type> disconnect(api_request const& req, route_match const& m, server_state& state) {
  std::string room, user;
  if (m.route == api_route::disconnect_room) {
    auto parsed = parse_disconnect_body(req.body());
    if (auto const* error = std::get_if<api_body_error>(&parsed))
      co_return error_response(http::status::bad_request, error->message, req);
    room = m.subject;
    user = std::move(std::get<std::string>(parsed));
  } else {
    if (!req.body().empty() && req.body() != "{}")
      co_return error_response(http::status::bad_request, "this endpoint takes no body: the user is in the path", req);
    user = m.subject;
  }
  std::size_t closed = 0;
  bool const everywhere = state.rooms().disconnect_everywhere(room, user, &closed);
  log_info("disconnected by the server API", {{"room", room}, {"user", user}, {"sessions", closed}});
  boost::json::object answer{{"user", user}, {"closed_here", closed}, {"cluster", state.rooms().clustered()}};
  if (!room.empty()) answer["room"] = room;
  if (!everywhere) {
    answer["error"] = "the cluster is unreachable: only this node's sessions were closed";
    co_return json_response(http::status::service_unavailable, answer, req.version(), req.keep_alive());
  }
  co_return json_response(http::status::ok, answer, req.version(), req.keep_alive());
}

asio::awaitable<text_response_type> room_detail_response(api_request const& req, std::string const& name,
                                                         server_state& state) {
  auto const target = std::string_view(req.target().data(), req.target().size());
  // Paged (?limit=&after=&q=) for big rooms: members in id order; `next` is the next page's after.
  bool const paged = has_query_param(target, "limit") || has_query_param(target, "after") || has_query_param(target, "q");
  members_request page_req;
  if (paged) {
    page_req.after = query_param(target, "after").value_or("");
    page_req.query = query_param(target, "q").value_or("");
    if (has_query_param(target, "limit")) {
      auto const limit = query_param(target, "limit").value_or("");
      std::size_t v = 0;
      auto const [end, ec] = std::from_chars(limit.data(), limit.data() + limit.size(), v);
      if (ec == std::errc::result_out_of_range && end == limit.data() + limit.size() && !limit.empty())
        v = max_members_page;
      else if (ec != std::errc{} || end != limit.data() + limit.size() || v == 0)
        co_return error_response(http::status::bad_request, "invalid limit: expected a positive integer", req);
      page_req.limit = std::min(v, max_members_page);
    }
  }
  auto detail = co_await state.rooms().describe_everywhere(name, cluster_view_timeout);
  std::vector<member_info const*> all;
  all.reserve(detail.members.size());
  for (auto const& member : detail.members) all.push_back(&member);
  members_page_result page;
  if (paged) page = page_members(all, page_req);
  else page.members = std::move(all);
  boost::json::array members;
  for (auto const* member : page.members) {
    boost::json::object entry{{"id", member->id}, {"name", member->name}};
    if (!member->user.empty()) entry["user"] = member->user;
    members.push_back(std::move(entry));
  }
  boost::json::object body{{"room", name}, {"members", std::move(members)}, {"seq", detail.seq}, {"count", detail.members.size()}};
  if (paged) body["next"] = page.next.empty() ? boost::json::value(nullptr) : boost::json::value(page.next);
  co_return json_response(http::status::ok, body, req.version(), req.keep_alive());
}

asio::awaitable<text_response_type> rooms_response(api_request const& req, server_state& state) {
  // Cluster mode: every node's members, from Redis; this node's view if Redis is away.
  boost::json::array rooms;
  for (auto const& r : co_await state.rooms().list_everywhere(cluster_view_timeout))
    rooms.push_back({{"room", r.name}, {"members", r.members}});
  co_return json_response(http::status::ok, rooms, req.version(), req.keep_alive());
}

// GCC 12 at -O1 and up inlines the handlers' coroutine frames into this one and then reports
// -Wmismatched-new-delete, the false positive server/http/http_connection.cpp explains (Asio's
// frame operator new against the free() in its operator delete). Silenced for this function only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
asio::awaitable<text_response_type> route(api_request const& req, route_match const& m, server_state& state,
                                          std::string_view peer) {
  auto const& cfg = state.cfg();
  bool const get_or_head = req.method() == http::verb::get || req.method() == http::verb::head;
  if (m.route == api_route::unknown) co_return error_response(http::status::not_found, "not found", req);
  if (is_write(m.route)) {
    // Off unless configured: the write endpoints do not exist without an API key.
    if (cfg.api_key.empty()) co_return error_response(http::status::not_found, "not found", req);
    if (req.method() != http::verb::post) {
      auto res = error_response(http::status::method_not_allowed, "use POST", req);
      res.set(http::field::allow, "POST");
      co_return res;
    }
  } else if (!get_or_head) {
    co_return method_not_allowed(req.version(), req.keep_alive());
  }
  bool const needs_key = is_write(m.route) || (m.route == api_route::history && state.tokens().enabled());
  if (needs_key && cfg.api_key.empty()) co_return error_response(http::status::not_found, "not found", req);
  bool const allowed = needs_key ? presents_api_key(req, cfg.api_key)
                                 : token_ok(req, cfg.auth_token) || presents_api_key(req, cfg.api_key);
  if (!allowed) {
    log_info("http api refused: missing or wrong credentials", {{"peer", peer}, {"route", to_string(m.route)}});
    auto res = error_response(http::status::unauthorized, needs_key ? "a valid API key is required" : "a valid token is required", req);
    res.set(http::field::www_authenticate, "Bearer");
    co_return res;
  }
  if (m.bad_subject) {
    // A room's detail answered 404 for an impossible room name before the write endpoints came.
    if (m.route == api_route::room) co_return error_response(http::status::not_found, "not found", req);
    co_return error_response(http::status::bad_request,
                             m.route == api_route::disconnect_user
                               ? "invalid user: 1-128 bytes of text without control characters, percent-encoded"
                               : "invalid room name: use 1-64 characters from A-Z a-z 0-9 . _ -",
                             req);
  }
  switch (m.route) {
  case api_route::rooms: co_return co_await rooms_response(req, state);
  case api_route::room: co_return co_await room_detail_response(req, m.subject, state);
  case api_route::history: co_return co_await history(req, m.subject, state);
  case api_route::publish: co_return co_await publish(req, m.subject, state);
  case api_route::disconnect_room:
  case api_route::disconnect_user: co_return co_await disconnect(req, m, state);
  default: co_return error_response(http::status::not_found, "not found", req);
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

} // namespace

bool is_api_path(std::string_view path) noexcept {
  return path == "/api" || path.starts_with("/api/");
}

bool api_takes_body(http::verb method, std::string_view path) noexcept {
  return method == http::verb::post && is_write(match_route(path).route);
}

std::size_t api_body_limit(config const& cfg) noexcept { return 6 * cfg.max_message_size + 4096; }

text_response_type api_body_too_large(http::request_header<> const& req, std::string_view path, server_state& state) {
  state.metrics().api_call(match_route(path).route, 413);
  auto res = json_response(http::status::payload_too_large,
                           {{"error", "the body is over " + std::to_string(api_body_limit(state.cfg())) + " bytes"}},
                           req.version(), false);
  res.set(http::field::cache_control, "no-store");
  return res;
}

asio::awaitable<text_response_type> api_response(api_request const& req, std::string_view path, server_state& state,
                                                 std::string_view peer) {
  auto const m = match_route(path);
  auto res = co_await route(req, m, state, peer);
  res.set(http::field::cache_control, "no-store");
  auto const status = res.result_int();
  state.metrics().api_call(m.route, status);
  log_debug("http api", {{"peer", peer}, {"route", to_string(m.route)}, {"status", status}});
  if (req.method() == http::verb::head) res.body().clear();
  co_return res;
}

} // namespace crier
