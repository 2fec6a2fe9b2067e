// What the broker does for the server API (server/http/api.cpp): a publish answered with its
// seq and at most once per idempotency key, and disconnects for every node on the control channel.
#include "server/cluster/broker.hpp"

#include "common/envelope.hpp"
#include "server/cluster/redis_schema.hpp"
#include "server/cluster/replica.hpp"
#include "server/logging.hpp"
#include "server/net.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace crier {

void broker::publish_once(std::string const& room, member_info const& from, std::shared_ptr<std::string const> text,
                          std::string idempotency_key, api_publish_done done) {
  asio::post(strand_, [self = shared_from_this(), room, from, text = std::move(text), key = std::move(idempotency_key),
                       done = std::move(done)]() mutable {
    auto rep = self->replica_for(room, true);
    // The caller is told, so nothing goes out without a seq: either Redis sequences it, or it is
    // not published at all.
    if (!rep || !self->up_.load(std::memory_order_relaxed) || !rep->warm || self->inflight_.size() >= max_inflight)
      return done({api_publish_result::outcome::unavailable, 0});
    envelope const e{envelope::kind::text, 0, self->node_id_, now_ms(), from, *text};
    auto [head, tail] = encode_split(e);
    auto const gen = self->generation_;
    self->cmd_->command(
      {"EVAL", redis_scripts::publish_once, "4", redis_schema::seq_key(room), redis_schema::stream_key(room),
       self->schema_.channel(room), redis_schema::idempotency_key(room), std::move(head), std::move(tail),
       std::to_string(self->settings_.history), key},
      self->liveness_,
      [self, rep, from = std::move(from), text = std::move(text), ts = e.ts, gen,
       done = std::move(done)](boost::system::error_code ec, redis_reply reply) {
        bool const answered = !ec && reply.type == redis_reply::kind::array && reply.elements.size() == 2;
        if (!answered) return done({api_publish_result::outcome::unknown, 0});
        auto const seq = static_cast<std::uint64_t>(std::max<long long>(reply.elements[0].integer, 0));
        if (reply.elements[1].integer != 0) return done({api_publish_result::outcome::duplicate, seq});
        self->report(event_type::message, rep->name, from, seq, text);
        // As a member's message: into this replica's order now, the channel copy is then a duplicate.
        if (!self->stale(gen) && rep->warm && rep->order.add({seq, ts, from, text})) self->drain(rep);
        done({api_publish_result::outcome::published, seq});
      });
  });
}

bool broker::disconnect_everywhere(std::string room, std::string user) {
  if (!up_.load(std::memory_order_acquire)) return false;
  asio::post(strand_, [self = shared_from_this(), room = std::move(room), user = std::move(user)] {
    if (!self->cmd_) return;
    self->cmd_->command({"PUBLISH", self->schema_.control_channel(), redis_schema::disconnect_message(room, user)},
                        self->liveness_, [](boost::system::error_code, redis_reply) {});
  });
  return true;
}

void broker::on_control(std::string const& message) {
  auto const order = redis_schema::parse_disconnect(message);
  if (!order) {
    log_debug("redis: ignored a malformed control message", {});
    return;
  }
  auto const closed = rooms_.disconnect(order->room, order->user);
  if (closed > 0)
    log_info("disconnected by the server API", {{"room", order->room}, {"user", order->user}, {"sessions", closed}});
}

} // namespace crier
