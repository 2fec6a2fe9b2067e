// What the broker answers sessions and the HTTP API (room_directory): waiting for a room's
// replica to be warm before a join, and reading rooms and members from Redis, each bounded by
// the caller's timeout and answered on the caller's executor.
#include "server/cluster/broker.hpp"

#include "common/envelope.hpp"
#include "server/cluster/redis_schema.hpp"
#include "server/net.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>

namespace crier {

asio::awaitable<void> broker::prepare(std::string room, std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  // A timer on the caller's executor, used as a condition variable: the broker cancels it from
  // there when the replica is warm.
  auto timer = std::make_shared<asio::steady_timer>(ex, timeout);
  asio::post(strand_, [self = shared_from_this(), room = std::move(room), timer, ex] {
    if (!self->rooms_.ensure(room)) return asio::post(ex, [timer] { timer->cancel(); });
    self->when_warm(room, [timer, ex] { asio::post(ex, [timer] { timer->cancel(); }); });
  });
  co_await timer->async_wait(nothrow);
}

template <class T>
asio::awaitable<std::optional<T>> broker::ask(std::vector<std::string> command, std::chrono::milliseconds timeout,
                                              std::function<std::optional<T>(redis_reply const&)> parse) {
  auto ex = co_await asio::this_coro::executor;
  // The timer, on the caller's executor, is a condition variable: the answer cancels it there.
  auto timer = std::make_shared<asio::steady_timer>(ex, timeout);
  auto result = std::make_shared<std::optional<T>>();
  asio::post(strand_, [self = shared_from_this(), command = std::move(command), parse = std::move(parse), timer, result, ex] {
    auto const answer = [timer, result, ex](std::optional<T> value) {
      asio::post(ex, [timer, result, value = std::move(value)]() mutable {
        *result = std::move(value);
        timer->cancel();
      });
    };
    if (!self->up_.load(std::memory_order_relaxed)) return answer(std::nullopt);
    self->cmd_->command(command, self->liveness_,
                        [answer, parse](boost::system::error_code ec, redis_reply reply) {
                          answer(ec ? std::nullopt : parse(reply));
                        });
  });
  co_await timer->async_wait(nothrow);
  co_return std::move(*result);
}

asio::awaitable<std::optional<std::vector<room_summary>>> broker::list_rooms(std::chrono::milliseconds timeout) {
  auto const members = redis_schema::members_pattern();
  return ask<std::vector<room_summary>>({"EVAL", redis_scripts::rooms, "1", redis_schema::rooms_key(), members.prefix,
                                         members.suffix},
                                        timeout,
                                        [](redis_reply const& reply) -> std::optional<std::vector<room_summary>> {
                                          if (reply.type != redis_reply::kind::array) return std::nullopt;
                                          std::vector<room_summary> rooms;
                                          for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2)
                                            rooms.push_back({reply.elements[i].str,
                                                             static_cast<std::size_t>(reply.elements[i + 1].integer)});
                                          std::ranges::sort(rooms, {}, &room_summary::name);
                                          return rooms;
                                        });
}

asio::awaitable<std::optional<room_detail>> broker::describe_room(std::string room, std::chrono::milliseconds timeout) {
  return ask<room_detail>({"EVAL", redis_scripts::describe, "2", redis_schema::members_key(room), redis_schema::seq_key(room)}, timeout,
                          [](redis_reply const& reply) -> std::optional<room_detail> {
                            if (reply.type != redis_reply::kind::array || reply.elements.size() != 2) return std::nullopt;
                            room_detail d;
                            auto const& hash = reply.elements[0].elements;
                            for (std::size_t i = 0; i + 1 < hash.size(); i += 2) {
                              member_info m{hash[i].str, {}, {}};
                              auto const entry = redis_schema::split_member_value(hash[i + 1].str);
                              if (!entry || !read_member_label(entry->label, m)) continue;
                              d.members.push_back(std::move(m));
                            }
                            std::ranges::sort(d.members, {}, &member_info::id);
                            d.seq = static_cast<std::uint64_t>(std::max<long long>(reply.elements[1].integer, 0));
                            return d;
                          });
}

} // namespace crier
