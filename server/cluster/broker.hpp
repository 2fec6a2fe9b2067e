#pragma once
// Scale-out through Redis (--redis): the broker keeps this node's replicas of the rooms it has
// members in, in step with every other node. It owns two redis_connections on one strand: one
// for commands and scripts, one for pub/sub. Everything it does happens on that strand; rooms
// reach it through room_uplink, whose calls only post to it.
//
// Per room: one channel carries envelopes (common/envelope.hpp); a capped stream keeps the text
// messages; a hash lists the members of every node (redis_schema.hpp spells them all). A text
// message is sequenced by one Lua script that INCRs the room's counter, XADDs with that seq as
// the stream id and PUBLISHes, atomically: channel order, stream order and seq order are one
// order. docs/scaling.md has the design and its guarantees.
//
// broker.cpp: the link to Redis and publishing; replica_sync.cpp: keeping the replicas in step;
// broker_directory.cpp: what sessions and the HTTP API ask of it.

#include "common/config.hpp"
#include "server/cluster/reorder_buffer.hpp"
#include "server/cluster/redis_connection.hpp"
#include "server/cluster/redis_schema.hpp"
#include "server/rooms/room.hpp"
#include "server/rooms/room_registry.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <deque>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace crier {

class metrics;

class broker final : public room_uplink, public room_directory, public std::enable_shared_from_this<broker> {
public:
  struct settings {
    redis_endpoint endpoint;
    std::chrono::milliseconds heartbeat{5'000};
    std::size_t history = 100;
    // How long a missing seq is waited for on the channel before it is read from the stream. Every
    // text message is in the stream as soon as its seq exists, so this is short; without history
    // (no stream) a late channel message is all there is, and it is waited for longer.
    std::chrono::milliseconds gap_wait{200};
    std::chrono::milliseconds gap_wait_without_history{1'000};
  };

  static std::shared_ptr<broker> create(boost::asio::io_context& ioc, settings s, room_registry& rooms, metrics& m);
  ~broker();
  broker(broker const&) = delete;
  broker& operator=(broker const&) = delete;

  // Connects, and keeps reconnecting with capped backoff until stop().
  void start();
  // Withdraws this node (its heartbeat) and closes the connections once what is queued is sent.
  void stop();
  // Once the io_context has stopped for good (no handler of this broker can run): drops both
  // connections at once. A command Redis had not answered by then (stop()'s last ones, on a slow
  // Redis) is held by hiredis with a handler that holds this broker: without this, broker and
  // connection keep each other alive past the end of the process. Pending handlers get
  // `disconnected`, on the calling thread.
  void abandon();

  bool up() const noexcept override { return up_.load(std::memory_order_acquire); }
  std::string const& node_id() const noexcept { return node_id_; }

  // Before a session joins `room`: completes once this node's replica of it is warm (subscribed,
  // history and members read), at once when Redis is down, or after `timeout`. On the caller's
  // executor, which must run one handler at a time (a strand, or a session's io_context, which
  // one thread runs).
  boost::asio::awaitable<void> prepare(std::string room, std::chrono::milliseconds timeout) override;
  // Every room with members on any node, with its cluster-wide member count; nullopt when Redis
  // cannot answer in time.
  boost::asio::awaitable<std::optional<std::vector<room_summary>>> list_rooms(std::chrono::milliseconds timeout) override;
  // One room's members on every node and its seq; nullopt when Redis cannot answer in time.
  boost::asio::awaitable<std::optional<room_detail>> describe_room(std::string room,
                                                                   std::chrono::milliseconds timeout) override;

  // room_uplink: from any thread.
  void publish_text(std::string const& room, member_info const& from, std::shared_ptr<std::string const> text) override;
  void publish_binary(std::string const& room, member_info const& from, std::shared_ptr<std::string const> data) override;
  void publish_once(std::string const& room, member_info const& from, std::shared_ptr<std::string const> text,
                    std::string idempotency_key, api_publish_done done) override;
  void joined(std::string const& room, member_info const& m) override;
  void left(std::string const& room, member_info const& m) override;

  // room_directory: a disconnect for every node, on the control channel.
  bool disconnect_everywhere(std::string room, std::string user) override;

private:
  struct replica;
  using replica_ptr = std::shared_ptr<replica>;

  broker(boost::asio::io_context& ioc, settings s, room_registry& rooms, metrics& m);

  // All below run on strand_.

  // The link (broker.cpp).
  void connect();
  void connected();
  void go_up();
  void fail(std::string const& reason);
  void tick();
  // Liveness of the pub/sub connection: each tick publishes a token to this node's echo channel
  // on the command connection; it must come back on the pub/sub connection within liveness_.
  void send_echo();
  void echoed(std::string const& token);
  // A message on the control channel.
  void on_control(std::string const& message);
  // When the link goes down: what the reorder buffers hold is delivered now (in seq order, gaps
  // skipped and counted), then every publish still waiting for its seq goes out locally without
  // one, counted as dropped, in the order sent. Nothing waits for a Redis that may never answer.
  void settle_pending();
  // The sweep script's EVAL: every node runs it on each tick, and once more when it stops.
  std::vector<std::string> sweep_command() const;
  // Whether `gen` is an earlier connection attempt's: fail() and stop() bump generation_, so
  // that late callbacks of the old connections recognise themselves.
  bool stale(std::uint64_t gen) const noexcept { return gen != generation_; }
  // Wraps a callback of the current connections: f(broker&, args...) runs only while the broker
  // lives and those connections are still current; otherwise the callback does nothing.
  template <class F>
  auto guarded(F f) {
    return [weak = weak_from_this(), gen = generation_, f = std::move(f)](auto&&... args) {
      auto self = weak.lock();
      if (!self || self->stale(gen)) return;
      f(*self, std::forward<decltype(args)>(args)...);
    };
  }

  // Replicas (replica_sync.cpp).
  replica_ptr replica_for(std::string const& name, bool create);
  void close_replica(std::string const& name);
  void warm(replica_ptr const& rep);
  void warmed(replica_ptr const& rep, redis_reply const& reply);
  void subscribe(std::string const& name);
  void unsubscribe(std::string const& name);
  void read_snapshot(replica_ptr const& rep);
  void on_message(std::string const& channel, std::string const& payload);
  void apply(replica_ptr const& rep, struct envelope&& e);
  void drain(replica_ptr const& rep);
  void fill_gap(replica_ptr const& rep);
  void sync_presence(std::string const& name, std::vector<member_info> const& local);
  void when_warm(std::string const& name, std::function<void()> f);
  void release_waiters(replica& rep);

  // Publishing (broker.cpp). A text message on its way to the publish script.
  struct outgoing_text {
    std::string room;
    member_info from;
    std::shared_ptr<std::string const> text;
    std::string head, tail; // the envelope around its seq
    std::int64_t ts = 0;
    replica_ptr rep;
    bool settled = false; // delivered here, with its seq or without (then counted as dropped)
    std::chrono::steady_clock::time_point sent;
    bool shown_here = false; // local members have it already, without a seq (local_patience)
  };
  // Publishes waiting for their seq at once; past it a member's message goes out locally without
  // one, and an API message is refused.
  static constexpr std::size_t max_inflight = 10'000;
  // Publishes sent and not yet answered, in the order sent; bounded by max_inflight.
  std::deque<std::shared_ptr<outgoing_text>> inflight_;
  // inflight_[0, unshown_) have been shown to local members already (they are older than
  // local_patience), so the patience timer starts from here instead of scanning them again.
  std::size_t unshown_ = 0;
  void send_text(replica_ptr const& rep, std::shared_ptr<outgoing_text> const& out);
  // Local members never wait on Redis for long: a publish without its seq after local_patience
  // goes to them without one (and, when its seq comes, into the history only).
  void arm_patience();
  void show_overdue();

  // Webhooks (broker.cpp). Tells the registry's room_events, if it wants this type: a message of
  // this node once its seq is known (0: it went out without one), and a room occupied or vacated
  // by one of this node's scripts, whose reply says so (redis_schema.cpp's join, leave, sync and
  // sweep), so that each happens once in the cluster.
  void report(event_type type, std::string const& room, member_info const& m = {}, std::uint64_t seq = 0,
              std::shared_ptr<std::string const> text = {});
  // The reply of a join ({added, occupied}), leave ({removed, vacated}) or sync ({occupied,
  // vacated}) script: `first` and `second` are what a 1 in each place means (nullopt: nothing).
  void report_occupancy(std::string const& room, redis_reply const& reply, std::optional<event_type> first,
                        event_type second);
  // The reply of the sweep script: the members it removed and the rooms it left empty.
  void report_sweep(redis_reply const& reply);

  // Queries (broker_directory.cpp). Runs `command` on the strand and hands its reply to the
  // calling coroutine (on its strand), or nullopt after `timeout` or when Redis is down.
  template <class T>
  boost::asio::awaitable<std::optional<T>> ask(std::vector<std::string> command, std::chrono::milliseconds timeout,
                                               std::function<std::optional<T>(redis_reply const&)> parse);

  boost::asio::io_context& ioc_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  settings const settings_;
  room_registry& rooms_;
  metrics& metrics_;
  std::string const node_id_;
  redis_schema const schema_;
  std::shared_ptr<redis_connection> cmd_, sub_;
  std::string publish_sha_; // the publish script's SHA1 once loaded; empty: use EVAL
  // How long Redis may take to answer anything (a command, the handshake, an echo) before the link
  // counts as dead: max(1.5 s, 1.5 heartbeats). A tick comes every half heartbeat, so a Redis that
  // stops answering is detected within max(2 s, 2 heartbeats).
  std::chrono::milliseconds const liveness_;
  // A connection attempt must be answered sooner: a link that discarded the attempt's first bytes
  // (a blackhole that has just healed) is retried instead of waited for.
  std::chrono::milliseconds const handshake_deadline_;
  boost::asio::steady_timer retry_timer_, tick_timer_, link_timer_, echo_timer_;
  // Fires when the oldest publish still waiting for its seq has waited local_patience.
  boost::asio::steady_timer patience_timer_;
  bool patience_armed_ = false;
  std::string const echo_channel_;
  std::uint64_t echo_token_ = 0;
  bool echo_pending_ = false;
  std::unordered_map<std::string, replica_ptr> replicas_;
  // Rooms this node left while Redis was away: its entries there are removed once it is back.
  std::unordered_set<std::string> stale_rooms_;
  // Channels by state. hiredis keeps one callback per channel, so a SUBSCRIBE never overlaps
  // another SUBSCRIBE or an UNSUBSCRIBE of the same channel.
  std::unordered_set<std::string> subscribing_, subscribed_, unsubscribing_;
  std::uint64_t generation_ = 0; // bumped per connection attempt: stale callbacks recognise themselves
  unsigned attempt_ = 0;
  int pending_connects_ = 0;
  bool stopped_ = false;
  enum class link { starting, up, down } link_ = link::starting;
  std::atomic<bool> up_{false};
};

} // namespace crier
