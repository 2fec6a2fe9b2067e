// The broker's link to Redis and its way out: connecting, reconnecting with backoff, the
// heartbeat and sweep, and publishing what this node's rooms send (text through the publish
// script, binary and presence directly). Replicas are kept in step in replica_sync.cpp.
#include "server/cluster/broker.hpp"

#include "common/envelope.hpp"
#include "common/identity.hpp"
#include "server/cluster/redis_schema.hpp"
#include "server/cluster/replica.hpp"
#include "server/logging.hpp"
#include "server/metrics.hpp"
#include "server/net.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <random>

namespace crier {

using namespace std::chrono_literals;

std::shared_ptr<broker> broker::create(asio::io_context& ioc, settings s, room_registry& rooms, metrics& m) {
  return std::shared_ptr<broker>(new broker(ioc, std::move(s), rooms, m));
}

broker::broker(asio::io_context& ioc, settings s, room_registry& rooms, metrics& m)
  : ioc_(ioc),
    strand_(asio::make_strand(ioc)),
    settings_(std::move(s)),
    rooms_(rooms),
    metrics_(m),
    node_id_(random_hex(16)),
    schema_(settings_.endpoint.db),
    retry_timer_(strand_),
    tick_timer_(strand_) {}

broker::~broker() = default;

std::vector<std::string> broker::sweep_command() const {
  auto [before, after] = presence_split(envelope::kind::leave, now_ms());
  auto const heartbeat = redis_schema::heartbeat_pattern(), rooms = redis_schema::node_rooms_pattern(),
             members = redis_schema::members_pattern();
  return {"EVAL",           redis_scripts::sweep, "2",           redis_schema::nodes_key(), redis_schema::rooms_key(),
          std::move(before), std::move(after),   heartbeat.prefix, heartbeat.suffix,         rooms.prefix,
          rooms.suffix,      members.prefix,     members.suffix,   schema_.channel_prefix()};
}

void broker::start() {
  asio::post(strand_, [self = shared_from_this()] {
    log_info("redis: this node", {{"node", self->node_id_},
                                  {"redis", self->settings_.endpoint.host + ":" + std::to_string(self->settings_.endpoint.port)},
                                  {"heartbeat_ms", self->settings_.heartbeat.count()}});
    self->connect();
    self->tick();
  });
}

void broker::stop() {
  asio::post(strand_, [self = shared_from_this()] {
    self->stopped_ = true;
    self->retry_timer_.cancel();
    self->tick_timer_.cancel();
    for (auto& [name, rep] : self->replicas_) {
      rep->gap_timer.cancel();
      self->release_waiters(*rep);
    }
    self->replicas_.clear(); // rooms hold no reference back, so this breaks no cycle but frees them
    if (self->cmd_ && self->cmd_->connected()) {
      // Others announce this node's members at once instead of after three heartbeats. What is
      // queued is still sent before the connection closes.
      self->cmd_->command({"DEL", redis_schema::heartbeat_key(self->node_id_)}, self->settings_.command_timeout,
                          [](boost::system::error_code, redis_reply) {});
      self->cmd_->command(self->sweep_command(), self->settings_.command_timeout,
                          [](boost::system::error_code, redis_reply) {});
    }
    ++self->generation_;
    if (self->cmd_) self->cmd_->close();
    if (self->sub_) self->sub_->close();
    self->up_.store(false, std::memory_order_release);
  });
}

// ---- the link to Redis ----------------------------------------------------------------------

void broker::connect() {
  if (stopped_) return;
  ++generation_;
  cmd_ = redis_connection::create(strand_);
  sub_ = redis_connection::create(strand_);
  pending_connects_ = 2;
  auto const& ep = settings_.endpoint;
  for (auto const& c : {cmd_, sub_}) {
    c->on_disconnect(guarded([](broker& self, std::string const& reason) { self.fail(reason); }));
    c->connect(ep.host, ep.port, settings_.command_timeout, guarded([](broker& self, boost::system::error_code ec) {
                 if (ec) return self.fail(ec.message());
                 if (--self.pending_connects_ == 0) self.connected();
               }));
  }
}

void broker::connected() {
  auto const go = guarded([](broker& self, boost::system::error_code ec, redis_reply reply) {
    if (ec || reply.type == redis_reply::kind::error) return self.fail(ec ? ec.message() : reply.str);
    self.attempt_ = 0;
    self.up_.store(true, std::memory_order_release);
    if (self.link_ != link::up) {
      log_info("redis: connected", {{"node", self.node_id_}});
      self.link_ = link::up;
    }
    self.cmd_->command({"SCRIPT", "LOAD", redis_scripts::publish}, self.settings_.command_timeout,
                       self.guarded([](broker& me, boost::system::error_code ec2, redis_reply sha) {
                         if (!ec2 && sha.type == redis_reply::kind::string) me.publish_sha_ = sha.str;
                       }));
    self.tick_timer_.cancel(); // heartbeat at once, then on schedule
    for (auto& [name, rep] : self.replicas_) self.warm(rep);
    for (auto const& name : std::exchange(self.stale_rooms_, {})) self.sync_presence(name, {});
  });
  if (settings_.endpoint.db == 0) return go(boost::system::error_code{}, redis_reply{});
  // Keys live in the chosen database; pub/sub is global, which is why channels name the db.
  cmd_->command({"SELECT", std::to_string(settings_.endpoint.db)}, settings_.command_timeout, go);
}

void broker::fail(std::string const& reason) {
  if (stopped_) return;
  ++generation_; // every callback of the old connections is stale from here on
  up_.store(false, std::memory_order_release);
  if (link_ != link::down) {
    // One line per change of state, however long the outage and however many retries.
    log_warn(link_ == link::up ? "redis: connection lost; delivering locally only until it is back"
                               : "redis: unavailable; delivering locally only until it is reachable",
             {{"error", reason}});
    link_ = link::down;
  }
  for (auto& [name, rep] : replicas_) {
    rep->warming = rep->warm = false;
    rep->buffered.clear();
    rep->gap_timer.cancel();
    release_waiters(*rep); // sessions join locally rather than wait for Redis
  }
  publish_sha_.clear();
  subscribing_.clear();
  subscribed_.clear();
  unsubscribing_.clear();
  // Close both: pending commands fail now (and are counted), instead of at their timeouts.
  // Not from here: this may be inside a hiredis callback of one of them, which then frees it.
  asio::post(strand_, [cmd = std::exchange(cmd_, nullptr), sub = std::exchange(sub_, nullptr)] {
    if (cmd) cmd->close();
    if (sub) sub->close();
  });
  // Capped exponential backoff with jitter: 100 ms, 200 ms ... 5 s, each between half and all of it.
  auto const cap = std::min<std::chrono::milliseconds>(100ms * (1U << std::min(attempt_, 6U)), 5s);
  ++attempt_;
  thread_local std::minstd_rand rng{std::random_device{}()};
  auto const delay = cap / 2 + std::chrono::milliseconds(rng() % static_cast<unsigned>(cap.count() / 2 + 1));
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (auto self = weak.lock(); self && !ec) self->connect();
  });
}

void broker::tick() {
  if (stopped_) return;
  if (up_.load(std::memory_order_relaxed)) {
    auto const ignore = [](boost::system::error_code, redis_reply) {};
    // The heartbeat lives two intervals; every node sweeps twice an interval, so a dead node's
    // members are announced gone within 2.5 intervals of its last heartbeat.
    cmd_->command({"SET", redis_schema::heartbeat_key(node_id_), "1", "PX", std::to_string(2 * settings_.heartbeat.count())},
                  settings_.command_timeout, ignore);
    cmd_->command({"SADD", redis_schema::nodes_key(), node_id_}, settings_.command_timeout, ignore);
    cmd_->command(sweep_command(), settings_.command_timeout,
                  [](boost::system::error_code, redis_reply reply) {
                    if (reply.type == redis_reply::kind::integer && reply.integer > 0)
                      log_info("redis: announced the leave of a dead node's members", {{"members", reply.integer}});
                  });
  }
  tick_timer_.expires_after(std::max<std::chrono::milliseconds>(settings_.heartbeat / 2, 5ms));
  tick_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (!self || self->stopped_) return;
    if (ec && ec != asio::error::operation_aborted) return;
    self->tick();
  });
}

// ---- room_uplink ----------------------------------------------------------------------------

void broker::publish_text(std::string const& room, member_info const& from, std::shared_ptr<std::string const> text) {
  asio::post(strand_, [self = shared_from_this(), room, from, text = std::move(text)]() mutable {
    auto rep = self->replica_for(room, true);
    if (!rep) return;
    if (!self->up_.load(std::memory_order_relaxed) || !rep->warm) {
      if (self->up_.load(std::memory_order_relaxed) && !rep->warming) self->warm(rep); // it failed before
      // Local members still get it, without a seq; the other nodes never will.
      rep->r->deliver_unsequenced(from, std::move(text));
      self->metrics_.redis_dropped(1);
      return;
    }
    envelope e{envelope::kind::text, 0, self->node_id_, now_ms(), from, *text};
    auto [head, tail] = encode_split(e);
    self->send_text(rep, std::make_shared<outgoing_text>(outgoing_text{room, std::move(from), std::move(text), std::move(head),
                                                                      std::move(tail), e.ts}));
  });
}

void broker::send_text(replica_ptr const& rep, std::shared_ptr<outgoing_text> const& out) {
  // EVALSHA of the script loaded at connect time: the script's text is not sent, nor hashed by
  // Redis, once per message. EVAL until it is loaded, and again if Redis lost it.
  bool const by_sha = !publish_sha_.empty();
  auto const gen = generation_;
  cmd_->command(
    {by_sha ? "EVALSHA" : "EVAL", by_sha ? publish_sha_ : redis_scripts::publish, "3", redis_schema::seq_key(out->room),
     redis_schema::stream_key(out->room), schema_.channel(out->room), out->head, out->tail,
     std::to_string(settings_.history)},
    settings_.command_timeout,
    [self = shared_from_this(), rep, out, gen, by_sha](boost::system::error_code ec, redis_reply reply) {
      if (!ec && by_sha && reply.type == redis_reply::kind::error && reply.str.starts_with("NOSCRIPT") &&
          !self->stale(gen)) {
        self->publish_sha_.clear(); // the script did not run: send it whole
        return self->send_text(rep, out);
      }
      if (ec || reply.type != redis_reply::kind::integer || self->stale(gen) || !rep->warm) {
        // No seq came back (it may or may not be in Redis): deliver here without one, once.
        rep->r->deliver_unsequenced(out->from, out->text);
        self->metrics_.redis_dropped(1);
        return;
      }
      if (!rep->order.add({static_cast<std::uint64_t>(reply.integer), out->ts, out->from, out->text})) return;
      self->drain(rep);
    });
}

void broker::publish_binary(std::string const& room, member_info const& from, std::shared_ptr<std::string const> data) {
  asio::post(strand_, [self = shared_from_this(), room, from, data = std::move(data)] {
    if (!self->up_.load(std::memory_order_relaxed)) {
      self->metrics_.redis_dropped(1);
      return;
    }
    envelope const e{envelope::kind::binary, 0, self->node_id_, now_ms(), from, *data};
    self->cmd_->command({"PUBLISH", self->schema_.channel(room), encode(e)}, self->settings_.command_timeout,
                        [](boost::system::error_code, redis_reply) {});
  });
}

void broker::joined(std::string const& room, member_info const& m) {
  asio::post(strand_, [self = shared_from_this(), room, m] {
    auto rep = self->replica_for(room, true);
    // While the replica warms, its presence sync will list this member.
    if (!rep || !rep->warm || !self->up_.load(std::memory_order_relaxed)) return;
    envelope const e{envelope::kind::join, 0, self->node_id_, now_ms(), m, {}};
    self->cmd_->command({"EVAL", redis_scripts::join, "4", redis_schema::members_key(room),
                         redis_schema::node_rooms_key(self->node_id_), redis_schema::rooms_key(), self->schema_.channel(room),
                         m.id, redis_schema::member_value(self->node_id_, m.name), encode(e), room},
                        self->settings_.command_timeout, [](boost::system::error_code, redis_reply) {});
  });
}

void broker::left(std::string const& room, member_info const& m) {
  asio::post(strand_, [self = shared_from_this(), room, m] {
    auto it = self->replicas_.find(room);
    bool const empty = it == self->replicas_.end() || it->second->r->size() == 0;
    if (self->up_.load(std::memory_order_relaxed)) {
      envelope const e{envelope::kind::leave, 0, self->node_id_, now_ms(), m, {}};
      self->cmd_->command({"EVAL", redis_scripts::leave, "4", redis_schema::members_key(room),
                           redis_schema::node_rooms_key(self->node_id_), redis_schema::rooms_key(),
                           self->schema_.channel(room), m.id, encode(e), room},
                          self->settings_.command_timeout, [](boost::system::error_code, redis_reply) {});
      if (empty)
        self->cmd_->command({"SREM", redis_schema::node_rooms_key(self->node_id_), room}, self->settings_.command_timeout,
                            [](boost::system::error_code, redis_reply) {});
    } else {
      self->stale_rooms_.insert(room); // its entry goes once Redis is back
    }
    // Subscribed only while this node has members in the room.
    if (empty) self->close_replica(room);
  });
}

} // namespace crier
