#include "server/http/api.hpp"

#include "common/names.hpp"
#include "server/logging.hpp"
#include "server/net.hpp"
#include "server/server_state.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <string>

namespace crier {

namespace {
constexpr std::string_view rooms_prefix = "/api/rooms/";
// How long a cluster-wide view may wait for Redis before this node's own view is answered.
constexpr std::chrono::seconds cluster_view_timeout{2};
} // namespace

bool is_api_path(std::string_view path) noexcept {
  return path == "/api" || path.starts_with("/api/");
}

asio::awaitable<text_response_type> api_response(http_request const& req, std::string_view path, server_state& state,
                                                 std::string_view peer) {
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    co_return method_not_allowed(req.version(), req.keep_alive());
  }
  if (!token_ok(req, state.cfg().auth_token)) {
    log_info("http api refused: missing or wrong token", {{"peer", peer}});
    auto res = json_response(http::status::unauthorized, {{"error", "a valid token is required"}}, req.version(),
                             req.keep_alive());
    res.set(http::field::www_authenticate, "Bearer");
    co_return res;
  }
  // Cluster mode: every node's members, from Redis; this node's view if Redis is away.
  boost::json::value body;
  auto status = http::status::ok;
  if (path == "/api/rooms" || path == rooms_prefix) {
    auto& rooms = body.emplace_array();
    for (auto const& r : co_await state.rooms().list_everywhere(cluster_view_timeout))
      rooms.push_back({{"room", r.name}, {"members", r.members}});
  } else if (path.starts_with(rooms_prefix) && is_valid_room_name(path.substr(rooms_prefix.size()))) {
    auto const name = std::string(path.substr(rooms_prefix.size()));
    auto detail = co_await state.rooms().describe_everywhere(name, cluster_view_timeout);
    boost::json::array members;
    for (auto const& member : detail.members) members.push_back({{"id", member.id}, {"name", member.name}});
    body = {{"room", name}, {"members", std::move(members)}, {"seq", detail.seq}};
  } else {
    status = http::status::not_found;
    body = {{"error", "not found"}};
  }
  auto res = json_response(status, body, req.version(), req.keep_alive());
  res.set(http::field::cache_control, "no-store");
  if (req.method() == http::verb::head) res.body().clear();
  co_return res;
}

} // namespace crier
