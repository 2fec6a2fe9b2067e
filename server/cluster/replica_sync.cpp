// Keeping this node's replicas in step with the cluster: warming one up (subscribe, then read
// the snapshot), reseeding it after an outage, syncing this node's presence, applying channel
// messages in seq order, and filling gaps from the stream.
#include "server/cluster/broker.hpp"

#include "common/envelope.hpp"
#include "server/cluster/redis_schema.hpp"
#include "server/cluster/replica.hpp"
#include "server/logging.hpp"
#include "server/metrics.hpp"
#include "server/net.hpp"

#include <algorithm>

namespace crier {

namespace {

// Channel messages a warming replica holds until its snapshot is in.
constexpr std::size_t max_buffered = 10'000;

sequenced_message to_sequenced(envelope&& e) {
  return {e.seq, e.ts, std::move(e.from), std::make_shared<std::string const>(std::move(e.payload))};
}

} // namespace

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
                liveness_, guarded([rep](broker& self, boost::system::error_code ec, redis_reply reply) {
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
    member_info m{hash[i].str, {}, {}};
    if (!v || v->node == node_id_ || !read_member_label(v->label, m)) continue;
    remote.push_back(std::move(m));
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
    args.push_back(member_label(m));
  }
  cmd_->command(args, liveness_, [self = shared_from_this(), name](boost::system::error_code ec, redis_reply reply) {
    if (!ec) self->report_occupancy(name, reply, event_type::room_occupied, event_type::room_vacated);
  });
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
  rep->gap_timer.expires_after(settings_.history > 0 ? settings_.gap_wait : settings_.gap_wait_without_history);
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
                liveness_, guarded([rep](broker& self, boost::system::error_code ec, redis_reply reply) {
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

} // namespace crier
