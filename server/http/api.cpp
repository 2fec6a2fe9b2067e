#include "server/http/api.hpp"

#include "common/names.hpp"
#include "common/protocol.hpp"
#include "common/query.hpp"
#include "server/logging.hpp"
#include "server/net.hpp"
#include "server/server_state.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <chrono>
#include <optional>
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
    auto const target = std::string_view(req.target().data(), req.target().size());
    // Paged (?limit=&after=&q=) for big rooms: members in id order; `next` is the next page's after.
    bool const paged = has_query_param(target, "limit") || has_query_param(target, "after") || has_query_param(target, "q");
    members_request page_req;
    std::optional<std::string> bad;
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
          bad = "invalid limit: expected a positive integer";
        page_req.limit = std::min(v, max_members_page);
      }
    }
    if (bad) {
      status = http::status::bad_request;
      body = {{"error", *bad}};
    } else {
      auto detail = co_await state.rooms().describe_everywhere(name, cluster_view_timeout);
      std::vector<member_info const*> all;
      all.reserve(detail.members.size());
      for (auto const& member : detail.members) all.push_back(&member);
      members_page_result page;
      if (paged) page = page_members(all, page_req);
      else page.members = std::move(all);
      boost::json::array members;
      for (auto const* member : page.members) members.push_back({{"id", member->id}, {"name", member->name}});
      body = {{"room", name}, {"members", std::move(members)}, {"seq", detail.seq}, {"count", detail.members.size()}};
      if (paged) body.as_object()["next"] = page.next.empty() ? boost::json::value(nullptr) : boost::json::value(page.next);
    }
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
