#include "server/cluster/broker.hpp"

#include "server/cluster/redis_schema.hpp"

#include "common/identity.hpp"
#include "common/envelope.hpp"
#include "server/logging.hpp"
#include "server/metrics.hpp"
#include "server/net.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <random>

namespace crier {

using namespace std::chrono_literals;

namespace {

// Channel messages a warming replica holds until its snapshot is in.
constexpr std::size_t max_buffered = 10'000;

sequenced_message to_sequenced(envelope&& e) {
  return {e.seq, e.ts, std::move(e.from), std::make_shared<std::string const>(std::move(e.payload))};
}

} // namespace

struct broker::replica {
  std::string name;
  std::shared_ptr<room> r;
  reorder_buffer order;
  bool warming = false;
  bool warm = false;
  bool ever_warm = false;
  std::vector<envelope> buffered; // channel messages that came during warm-up
  std::vector<std::function<void()>> waiters;
  asio::steady_timer gap_timer;
  bool gap_armed = false;

  replica(std::string n, std::shared_ptr<room> room, asio::any_io_executor ex)
    : name(std::move(n)), r(std::move(room)), gap_timer(std::move(ex)) {}
};

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

// ---- replicas -------------------------------------------------------------------------------

broker::replica_ptr broker::replica_for(std::string const& name, bool create) {
  auto const current = rooms_.find(name);
  auto it = replicas_.find(name);
  if (it != replicas_.end() && it->second->r != current) {
    // The registry dropped the room and made a new one: the old replica is of no use.
    close_replica(name);
    it = replicas_.end();
  }
  if (it != replicas_.end()) return it->second;
  if (!create || !current || stopped_) return nullptr;
  auto rep = std::make_shared<replica>(name, current, strand_);
  replicas_.emplace(name, rep);
  stale_rooms_.erase(name);
  if (up_.load(std::memory_order_relaxed)) warm(rep);
  return rep;
}

void broker::close_replica(std::string const& name) {
  auto it = replicas_.find(name);
  if (it == replicas_.end()) return;
  auto rep = it->second;
  replicas_.erase(it);
  rep->warm = rep->warming = false; // replies still in flight for it find it closed
  rep->gap_timer.cancel();
  release_waiters(*rep);
  unsubscribe(name); // or, if the SUBSCRIBE is still in flight, once it is confirmed
}

void broker::unsubscribe(std::string const& name) {
  auto const ch = schema_.channel(name);
  if (!sub_ || subscribed_.erase(ch) == 0) return;
  unsubscribing_.insert(ch);
  sub_->unsubscribe(ch, guarded([name, ch](broker& self, boost::system::error_code) {
                      self.unsubscribing_.erase(ch);
                      // A member came back while the UNSUBSCRIBE was in flight.
                      if (auto again = self.replicas_.find(name); again != self.replicas_.end() && again->second->warming)
                        self.subscribe(name);
                    }));
}

void broker::release_waiters(replica& rep) {
  for (auto& w : std::exchange(rep.waiters, {})) w();
}

void broker::warm(replica_ptr const& rep) {
  rep->warming = true;
  rep->warm = false;
  rep->buffered.clear();
  // Subscribe first, then read: whatever is published after the snapshot is on the channel.
  subscribe(rep->name);
}

void broker::subscribe(std::string const& name) {
  auto const ch = schema_.channel(name);
  if (subscribed_.contains(ch)) {
    if (auto it = replicas_.find(name); it != replicas_.end()) read_snapshot(it->second);
    return;
  }
  // hiredis keeps one callback per channel: one SUBSCRIBE or UNSUBSCRIBE in flight at a time, and
  // its completion carries on with whatever replica is current then.
  if (subscribing_.contains(ch) || unsubscribing_.contains(ch)) return;
  subscribing_.insert(ch);
  sub_->subscribe(
    ch,
    [weak = weak_from_this()](std::string const& c, std::string const& payload) {
      if (auto self = weak.lock()) self->on_message(c, payload);
    },
    guarded([name, ch](broker& self, boost::system::error_code ec) {
      if (ec) return; // a lost connection is handled by fail()
      self.subscribing_.erase(ch);
      self.subscribed_.insert(ch);
      auto it = self.replicas_.find(name);
      if (it == self.replicas_.end()) return self.unsubscribe(name); // the last member left meanwhile
      if (it->second->warming) self.read_snapshot(it->second);
    }));
}

void broker::read_snapshot(replica_ptr const& rep) {
  auto const since = rep->ever_warm ? rep->order.next() - 1 : 0;
  auto const& n = rep->name;
  cmd_->command({"EVAL", redis_scripts::warm, "4", redis_schema::epoch_key(n), redis_schema::seq_key(n),
                 redis_schema::stream_key(n), redis_schema::members_key(n), rep->r->epoch(),
                 std::to_string(settings_.history), std::to_string(since), redis_schema::stream_after(since)},
                settings_.command_timeout, guarded([rep](broker& self, boost::system::error_code ec, redis_reply reply) {
                  if (ec || reply.type != redis_reply::kind::array || reply.elements.size() != 4) {
                    log_warn("redis: cannot read a room's state",
                             {{"room", rep->name}, {"error", ec ? ec.message() : reply.str}});
                    rep->warming = false;
                    self.release_waiters(*rep);
                    return;
                  }
                  self.warmed(rep, reply);
                }));
}

void broker::warmed(replica_ptr const& rep, redis_reply const& reply) {
  if (replicas_.find(rep->name) == replicas_.end() || replicas_[rep->name] != rep) return;
  auto const& epoch = reply.elements[0].str;
  auto const seq = static_cast<std::uint64_t>(std::max<long long>(reply.elements[1].integer, 0));
  bool const rewarm = rep->ever_warm && epoch == rep->r->epoch();
  std::vector<sequenced_message> tail;
  auto const& entries = reply.elements[2].elements;
  tail.reserve(entries.size());
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) { // XREVRANGE: newest first
    auto e = redis_schema::stream_entry(*it);
    if (!e) continue;
    // After an outage, our own messages in the stream were delivered here already, or were
    // delivered without a seq when their reply was lost: never again. Only those whose reply
    // came but which still waited for an earlier seq are due.
    if (rewarm && e->node == node_id_ && !rep->order.holds(e->seq)) continue;
    tail.push_back(to_sequenced(std::move(*e)));
  }
  if (rewarm && !tail.empty() && tail.front().seq > rep->order.next()) {
    metrics_.redis_skipped(tail.front().seq - rep->order.next()); // trimmed from the stream meanwhile
  }
  rep->r->reseed(epoch, seq, tail);
  std::vector<member_info> remote;
  auto const& hash = reply.elements[3].elements;
  for (std::size_t i = 0; i + 1 < hash.size(); i += 2) {
    auto const v = redis_schema::split_member_value(hash[i + 1].str);
    if (!v || v->node == node_id_) continue;
    remote.push_back({hash[i].str, std::string(v->name)});
  }
  rep->r->set_remote_members(std::move(remote));
  rep->order = reorder_buffer(seq + 1);
  rep->warming = false;
  rep->warm = rep->ever_warm = true;
  for (auto& e : std::exchange(rep->buffered, {})) apply(rep, std::move(e));
  drain(rep);
  // This node's members, as they are now, whatever happened while Redis was away.
  sync_presence(rep->name, rep->r->local_members());
  release_waiters(*rep);
}

void broker::sync_presence(std::string const& name, std::vector<member_info> const& local) {
  auto const ts = now_ms();
  auto [join_before, join_after] = presence_split(envelope::kind::join, ts);
  auto [leave_before, leave_after] = presence_split(envelope::kind::leave, ts);
  std::vector<std::string> args{"EVAL",
                                redis_scripts::sync,
                                "4",
                                redis_schema::members_key(name),
                                redis_schema::node_rooms_key(node_id_),
                                redis_schema::rooms_key(),
                                schema_.channel(name),
                                redis_schema::member_value(node_id_, ""),
                                name,
                                join_before + node_id_ + join_after,
                                leave_before + node_id_ + leave_after};
  for (auto const& m : local) {
    args.push_back(m.id);
    args.push_back(m.name);
  }
  cmd_->command(args, settings_.command_timeout, [](boost::system::error_code, redis_reply) {});
}

void broker::when_warm(std::string const& name, std::function<void()> f) {
  if (!up_.load(std::memory_order_relaxed) || stopped_) return f();
  auto rep = replica_for(name, true);
  if (!rep || rep->warm) return f();
  if (!rep->warming) warm(rep); // an earlier warm-up failed: try again
  rep->waiters.push_back(std::move(f));
}

// ---- messages -------------------------------------------------------------------------------

void broker::on_message(std::string const& ch, std::string const& payload) {
  auto const room = schema_.room_of(ch);
  if (!room) return;
  auto it = replicas_.find(std::string(*room));
  if (it == replicas_.end()) return;
  auto e = decode_envelope(payload);
  if (!e) {
    log_debug("redis: ignored a malformed envelope", {{"channel", ch}});
    return;
  }
  auto const& rep = it->second;
  if (rep->warming) {
    // Bounded: past it, text is left to the gap filler, which reads the stream.
    if (rep->buffered.size() < max_buffered || e->type != envelope::kind::text) rep->buffered.push_back(std::move(*e));
    return;
  }
  if (!rep->warm) return;
  apply(rep, std::move(*e));
  drain(rep);
}

void broker::apply(replica_ptr const& rep, envelope&& e) {
  // Our own messages and presence were delivered here when they happened.
  if (e.node == node_id_) return;
  switch (e.type) {
  case envelope::kind::text: rep->order.add(to_sequenced(std::move(e))); break;
  case envelope::kind::binary: rep->r->deliver_remote_binary(std::make_shared<std::string const>(std::move(e.payload))); break;
  case envelope::kind::join: rep->r->remote_join(e.from); break;
  case envelope::kind::leave: rep->r->remote_leave(e.from); break;
  }
}

void broker::drain(replica_ptr const& rep) {
  for (auto const& m : rep->order.take_ready())
    rep->r->deliver_sequenced(m);
  if (!rep->order.waiting()) {
    if (rep->gap_armed) rep->gap_timer.cancel();
    return;
  }
  if (rep->order.over_bound()) {
    metrics_.redis_skipped(rep->order.skip_gap());
    return drain(rep);
  }
  if (rep->gap_armed) return;
  // A seq is missing: it is on its way on the other connection, or lost. Wait a little, then
  // read it from the stream.
  rep->gap_armed = true;
  rep->gap_timer.expires_after(settings_.gap_wait);
  rep->gap_timer.async_wait([weak = weak_from_this(), rep, next = rep->order.next()](boost::system::error_code ec) {
    rep->gap_armed = false;
    auto self = weak.lock();
    if (!self || ec || !rep->warm || !rep->order.waiting()) return;
    if (rep->order.next() != next) return self->drain(rep); // it moved on; look again
    self->fill_gap(rep);
  });
}

void broker::fill_gap(replica_ptr const& rep) {
  auto const from = rep->order.next();
  auto const to = rep->order.first_held() - 1;
  cmd_->command({"XRANGE", redis_schema::stream_key(rep->name), redis_schema::stream_first(from), redis_schema::stream_last(to)},
                settings_.command_timeout, guarded([rep](broker& self, boost::system::error_code ec, redis_reply reply) {
                  if (!rep->warm) return;
                  if (!ec) {
                    for (auto const& entry : reply.elements) {
                      auto e = redis_schema::stream_entry(entry);
                      // Our own entry here means its reply was lost and it went out without a seq.
                      if (e && e->node != self.node_id_) rep->order.add(to_sequenced(std::move(*e)));
                    }
                  }
                  for (auto const& m : rep->order.take_ready()) rep->r->deliver_sequenced(m);
                  if (auto const skipped = rep->order.skip_gap(); skipped > 0) {
                    self.metrics_.redis_skipped(skipped);
                    log_debug("redis: skipped missing messages", {{"room", rep->name}, {"count", skipped}});
                  }
                  self.drain(rep);
                }));
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

// ---- for sessions and the HTTP API ----------------------------------------------------------

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
    self->cmd_->command(command, self->settings_.command_timeout,
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
                              auto const& v = hash[i + 1].str;
                              auto const entry = redis_schema::split_member_value(v);
                              d.members.push_back({hash[i].str, entry ? std::string(entry->name) : v});
                            }
                            std::ranges::sort(d.members, {}, &member_info::id);
                            d.seq = static_cast<std::uint64_t>(std::max<long long>(reply.elements[1].integer, 0));
                            return d;
                          });
}

} // namespace crier
