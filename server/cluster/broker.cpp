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

namespace {

// How long a member's message may wait for its seq before its own node's members get it without
// one. A healthy Redis answers in about a millisecond, a slow link in tens; a frozen one is only
// detected after max(2 s, 2 heartbeats), which local delivery must not wait for.
constexpr auto local_patience = 250ms;

std::chrono::milliseconds liveness_for(std::chrono::milliseconds heartbeat) {
  return std::max<std::chrono::milliseconds>(1500ms, heartbeat * 3 / 2);
}

} // namespace

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
    liveness_(liveness_for(settings_.heartbeat)),
    handshake_deadline_(std::min<std::chrono::milliseconds>(liveness_, 1s)),
    retry_timer_(strand_),
    tick_timer_(strand_),
    link_timer_(strand_),
    echo_timer_(strand_),
    patience_timer_(strand_),
    echo_channel_(redis_schema::echo_channel(node_id_)) {}

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
                                  {"heartbeat_ms", self->settings_.heartbeat.count()},
                                  {"liveness_ms", self->liveness_.count()}});
    self->connect();
    self->tick();
  });
}

void broker::stop() {
  asio::post(strand_, [self = shared_from_this()] {
    self->stopped_ = true;
    self->retry_timer_.cancel();
    self->tick_timer_.cancel();
    self->link_timer_.cancel();
    self->echo_timer_.cancel();
    self->patience_timer_.cancel();
    for (auto& [name, rep] : self->replicas_) {
      rep->gap_timer.cancel();
      self->release_waiters(*rep);
    }
    self->replicas_.clear(); // rooms hold no reference back, so this breaks no cycle but frees them
    if (self->cmd_ && self->cmd_->connected()) {
      // Others announce this node's members at once instead of after three heartbeats. What is
      // queued is still sent before the connection closes.
      self->cmd_->command({"DEL", redis_schema::heartbeat_key(self->node_id_)}, self->liveness_,
                          [](boost::system::error_code, redis_reply) {});
      self->cmd_->command(self->sweep_command(), self->liveness_,
                          [self](boost::system::error_code, redis_reply reply) { self->report_sweep(reply); });
    }
    ++self->generation_;
    // A link that is up says goodbye; one that is not would never finish closing.
    bool const graceful = self->up_.load(std::memory_order_relaxed);
    for (auto const& c : {self->cmd_, self->sub_})
      if (c) graceful ? c->close() : c->abort();
    self->up_.store(false, std::memory_order_release);
  });
}

void broker::abandon() {
  stopped_ = true;
  for (auto* c : {&cmd_, &sub_}) {
    if (*c) (*c)->abort();
    c->reset();
  }
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
    c->on_stall(guarded([](broker& self, std::string const& reason) { self.fail(reason); }));
    c->connect(ep.host, ep.port, handshake_deadline_, guarded([](broker& self, boost::system::error_code ec) {
                 if (ec) return self.fail(ec.message());
                 if (--self.pending_connects_ == 0) self.connected();
               }));
  }
}

void broker::connected() {
  // TCP is up, but the kernel of a frozen Redis accepts connections too: the link is up only once
  // Redis answered on both connections, within liveness_.
  link_timer_.expires_after(handshake_deadline_);
  link_timer_.async_wait(guarded([](broker& self, boost::system::error_code ec) {
    if (!ec) self.fail("Redis did not answer within " + std::to_string(self.handshake_deadline_.count()) + " ms of connecting");
  }));
  auto const subscribed = guarded([](broker& self, boost::system::error_code ec) {
    if (ec) return; // a lost connection is handled by fail()
    self.go_up();
  });
  auto const answered = guarded([subscribed](broker& self, boost::system::error_code ec, redis_reply reply) {
    if (ec || reply.type == redis_reply::kind::error) return self.fail(ec ? ec.message() : reply.str);
    // The echo channel, then the control channel: up once both are heard.
    self.sub_->subscribe(
      self.echo_channel_,
      [weak = self.weak_from_this()](std::string const&, std::string const& token) {
        if (auto me = weak.lock()) me->echoed(token);
      },
      self.guarded([subscribed](broker& me, boost::system::error_code ec2) {
        if (ec2) return;
        me.sub_->subscribe(
          me.schema_.control_channel(),
          [weak = me.weak_from_this()](std::string const&, std::string const& message) {
            if (auto again = weak.lock()) again->on_control(message);
          },
          subscribed);
      }));
  });
  // Keys live in the chosen database; pub/sub is global, which is why channels name the db.
  cmd_->command(settings_.endpoint.db == 0 ? std::vector<std::string>{"PING"}
                                           : std::vector<std::string>{"SELECT", std::to_string(settings_.endpoint.db)},
                handshake_deadline_, answered);
}

void broker::go_up() {
  link_timer_.cancel();
  attempt_ = 0;
  up_.store(true, std::memory_order_release);
  if (link_ != link::up) {
    log_info("redis: connected", {{"node", node_id_}});
    link_ = link::up;
  }
  cmd_->command({"SCRIPT", "LOAD", redis_scripts::publish}, liveness_,
                guarded([](broker& me, boost::system::error_code ec2, redis_reply sha) {
                  if (!ec2 && sha.type == redis_reply::kind::string) me.publish_sha_ = sha.str;
                }));
  tick_timer_.cancel(); // heartbeat at once, then on schedule
  for (auto& [name, rep] : replicas_) warm(rep);
  for (auto const& name : std::exchange(stale_rooms_, {})) sync_presence(name, {});
}

void broker::send_echo() {
  auto const token = std::to_string(echo_token_);
  cmd_->command({"PUBLISH", echo_channel_, token}, liveness_, [](boost::system::error_code, redis_reply) {});
  if (echo_pending_) return; // the earlier one's deadline stands
  echo_pending_ = true;
  echo_timer_.expires_after(liveness_);
  echo_timer_.async_wait(guarded([](broker& self, boost::system::error_code ec) {
    if (!ec && self.echo_pending_)
      self.fail("no message on the pub/sub connection within " + std::to_string(self.liveness_.count()) + " ms");
  }));
}

void broker::echoed(std::string const& token) {
  if (token != std::to_string(echo_token_)) return;
  ++echo_token_;
  echo_pending_ = false;
  echo_timer_.cancel();
}

void broker::settle_pending() {
  for (auto& [name, rep] : replicas_) {
    for (;;) {
      for (auto const& m : rep->order.take_ready()) rep->r->deliver_sequenced(m);
      if (!rep->order.waiting()) break;
      metrics_.redis_skipped(rep->order.skip_gap());
    }
  }
  unshown_ = 0;
  for (auto const& out : std::exchange(inflight_, {})) {
    if (out->settled) continue;
    out->settled = true;
    if (!out->shown_here) out->rep->r->deliver_unsequenced(out->from, out->text);
    metrics_.redis_dropped(1);
    report(event_type::message, out->room, out->from, 0, out->text);
  }
}

void broker::arm_patience() {
  if (patience_armed_ || unshown_ >= inflight_.size()) return;
  patience_armed_ = true;
  patience_timer_.expires_at(inflight_[unshown_]->sent + local_patience);
  patience_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (!self) return;
    self->patience_armed_ = false;
    if (!ec && !self->stopped_) self->show_overdue();
  });
}

void broker::show_overdue() {
  auto const now = std::chrono::steady_clock::now();
  // In the order sent: past the first that is young enough, all are.
  for (; unshown_ < inflight_.size() && inflight_[unshown_]->sent + local_patience <= now; ++unshown_) {
    auto& out = *inflight_[unshown_];
    // Counted when it misses the other nodes too (settle_pending), not here: its seq may come yet.
    out.shown_here = true;
    out.rep->r->deliver_unsequenced(out.from, out.text);
    metrics_.redis_late(1);
  }
  arm_patience();
}

void broker::fail(std::string const& reason) {
  if (stopped_) return;
  ++generation_; // every callback of the old connections is stale from here on
  up_.store(false, std::memory_order_release);
  if (link_ == link::up) metrics_.redis_link_lost();
  if (link_ != link::down) {
    // One line per change of state, however long the outage and however many retries.
    log_warn(link_ == link::up ? "redis: connection lost; delivering locally only until it is back"
                               : "redis: unavailable; delivering locally only until it is reachable",
             {{"error", reason}});
    link_ = link::down;
  }
  link_timer_.cancel();
  echo_timer_.cancel();
  echo_pending_ = false;
  settle_pending();
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
  // Drop both: nothing more is sent on them (a Redis that comes back must not run a backlog of
  // stale publishes), and what is pending fails now; it was settled above. Not from here: this
  // may be inside a hiredis callback of one of them, which then frees it.
  asio::post(strand_, [cmd = std::exchange(cmd_, nullptr), sub = std::exchange(sub_, nullptr)] {
    if (cmd) cmd->abort();
    if (sub) sub->abort();
  });
  // Capped exponential backoff with jitter: 100 ms, 200 ms, 400 ms, 500 ms ..., each between half
  // and all of it. The cap is low so that a Redis that is back is in use again within a second.
  auto const cap = std::min<std::chrono::milliseconds>(100ms * (1U << std::min(attempt_, 3U)), 500ms);
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
                  liveness_, ignore);
    // 1: this node was not listed. On a first heartbeat that is news to nobody; later it means
    // another node swept it (its heartbeat expired: a frozen Redis expires keys when it thaws, a
    // link paused too long), removing its members: they are listed, and announced, again.
    cmd_->command({"SADD", redis_schema::nodes_key(), node_id_}, liveness_,
                  guarded([](broker& self, boost::system::error_code ec, redis_reply reply) {
                    if (ec || reply.type != redis_reply::kind::integer || reply.integer != 1) return;
                    for (auto& [name, rep] : self.replicas_)
                      if (rep->warm) self.sync_presence(name, rep->r->local_members());
                  }));
    cmd_->command(sweep_command(), liveness_, [self = shared_from_this()](boost::system::error_code, redis_reply reply) {
      if (reply.type != redis_reply::kind::array || reply.elements.size() != 2) return;
      if (auto const members = reply.elements[0].elements.size() / 3; members > 0)
        log_info("redis: announced the leave of a dead node's members", {{"members", members}});
      self->report_sweep(reply);
    });
  }
  tick_timer_.expires_after(std::max<std::chrono::milliseconds>(settings_.heartbeat / 2, 5ms));
  tick_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (!self || self->stopped_) return;
    if (ec && ec != asio::error::operation_aborted) return;
    if (self->up_.load(std::memory_order_relaxed)) self->send_echo();
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
      rep->r->deliver_unsequenced(from, text);
      self->metrics_.redis_dropped(1);
      self->report(event_type::message, room, from, 0, std::move(text));
      return;
    }
    if (self->inflight_.size() >= max_inflight) {
      // Redis is far behind: rather than queue without end, this one stays here, counted.
      rep->r->deliver_unsequenced(from, text);
      self->metrics_.redis_dropped(1);
      self->report(event_type::message, room, from, 0, std::move(text));
      return;
    }
    envelope e{envelope::kind::text, 0, self->node_id_, now_ms(), from, *text};
    auto [head, tail] = encode_split(e);
    auto out = std::make_shared<outgoing_text>(outgoing_text{room, std::move(from), std::move(text), std::move(head),
                                                             std::move(tail), e.ts, rep, false,
                                                             std::chrono::steady_clock::now(), false});
    self->inflight_.push_back(out);
    self->send_text(rep, out);
    self->arm_patience();
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
    liveness_,
    [self = shared_from_this(), rep, out, gen, by_sha](boost::system::error_code ec, redis_reply reply) {
      if (out->settled) return; // the link went down first: it went out without a seq
      if (!ec && by_sha && reply.type == redis_reply::kind::error && reply.str.starts_with("NOSCRIPT") &&
          !self->stale(gen)) {
        self->publish_sha_.clear(); // the script did not run: send it whole
        return self->send_text(rep, out);
      }
      out->settled = true;
      if (auto it = std::ranges::find(self->inflight_, out); it != self->inflight_.end()) {
        if (static_cast<std::size_t>(it - self->inflight_.begin()) < self->unshown_) --self->unshown_;
        self->inflight_.erase(it);
      }
      if (ec || reply.type != redis_reply::kind::integer || self->stale(gen) || !rep->warm) {
        // No seq came back (it may or may not be in Redis): deliver here without one, once.
        if (!out->shown_here) rep->r->deliver_unsequenced(out->from, out->text);
        self->metrics_.redis_dropped(1);
        self->report(event_type::message, out->room, out->from, 0, out->text);
        return;
      }
      auto const seq = static_cast<std::uint64_t>(reply.integer);
      self->report(event_type::message, out->room, out->from, seq, out->text);
      if (!rep->order.add({seq, out->ts, out->from, out->text, out->shown_here})) return;
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
    // Delivered here already; if no reply comes, the other nodes may not have it: counted.
    self->cmd_->command({"PUBLISH", self->schema_.channel(room), encode(e)}, self->liveness_,
                        [self](boost::system::error_code ec, redis_reply) {
                          if (ec) self->metrics_.redis_dropped(1);
                        });
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
                         m.id, redis_schema::member_value(self->node_id_, member_label(m)), encode(e), room},
                        self->liveness_, [self, room](boost::system::error_code ec, redis_reply reply) {
                          if (!ec) self->report_occupancy(room, reply, std::nullopt, event_type::room_occupied);
                        });
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
                          self->liveness_, [self, room](boost::system::error_code ec, redis_reply reply) {
                            if (!ec) self->report_occupancy(room, reply, std::nullopt, event_type::room_vacated);
                          });
      if (empty)
        self->cmd_->command({"SREM", redis_schema::node_rooms_key(self->node_id_), room}, self->liveness_,
                            [](boost::system::error_code, redis_reply) {});
    } else {
      self->stale_rooms_.insert(room); // its entry goes once Redis is back
    }
    // Subscribed only while this node has members in the room.
    if (empty) self->close_replica(room);
  });
}

// ---- webhooks -------------------------------------------------------------------------------

void broker::report(event_type type, std::string const& room, member_info const& m, std::uint64_t seq,
                    std::shared_ptr<std::string const> text) {
  auto* events = rooms_.events();
  if (events == nullptr || !events->wants(type)) return;
  events->on_event({type, room, now_ms(), m, seq, std::move(text)});
}

void broker::report_occupancy(std::string const& room, redis_reply const& reply, std::optional<event_type> first,
                              event_type second) {
  if (reply.type != redis_reply::kind::array || reply.elements.size() != 2) return;
  if (first && reply.elements[0].integer == 1) report(*first, room);
  if (reply.elements[1].integer == 1) report(second, room);
}

void broker::report_sweep(redis_reply const& reply) {
  if (reply.type != redis_reply::kind::array || reply.elements.size() != 2) return;
  auto const& removed = reply.elements[0].elements;
  for (std::size_t i = 0; i + 2 < removed.size(); i += 3) {
    member_info m{removed[i + 1].str, {}, {}};
    if (read_member_label(removed[i + 2].str, m)) report(event_type::leave, removed[i].str, m);
  }
  for (auto const& room : reply.elements[1].elements) report(event_type::room_vacated, room.str);
}

} // namespace crier
