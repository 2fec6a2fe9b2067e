#pragma once
// The rooms of this process, by name. A room is created by its first member. When its last
// member leaves it is kept, with its history, until it has been empty for `empty_room_ttl` or
// until more than `max_empty_rooms` rooms are empty (the longest-empty go first). With history
// off, an empty room is dropped at once. Once draining starts, nobody joins any more.

#include "server/rooms/room.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace crier {

struct room_settings {
  std::size_t history = 100;
  std::chrono::milliseconds empty_room_ttl{std::chrono::hours(1)};
  std::size_t max_empty_rooms = 1000;
  std::size_t max_rooms = 10'000;
  class metrics* metrics = nullptr; // where rooms count their fan-out, when set
  // Rooms with more members than this are big (see room::set_presence_threshold); the default
  // never. A finite threshold starts the presence ticker, which flushes every interval.
  std::size_t presence_threshold = static_cast<std::size_t>(-1);
  std::chrono::milliseconds presence_interval{100};
  // Payloads from this size up are worth compressing for members with permessage-deflate
  // (see room::set_compression_min_size); SIZE_MAX when compression is off.
  std::size_t compression_min_size = 0;
  int compression_level = 1;
  // Members of one format that can follow a room's compression stream before the room starts one
  // (see room::set_compression_context); 0: never.
  std::size_t compression_context_members = 0;
};

struct room_summary {
  std::string name;
  std::size_t members = 0;
};

// One room's members on every node, and its newest seq.
struct room_detail {
  std::vector<member_info> members;
  std::uint64_t seq = 0;
};

// What the registry asks of the cluster beyond a room's own traffic (the broker, with --redis).
// The registry is the one door: HTTP and sessions never see the broker itself.
class room_directory {
public:
  // Completes once this node's replica of `room` is warm, at once when the cluster is down, or
  // after `timeout`. On the caller's executor, which runs one handler at a time.
  virtual boost::asio::awaitable<void> prepare(std::string room, std::chrono::milliseconds timeout) = 0;
  // nullopt when the cluster cannot answer in time.
  virtual boost::asio::awaitable<std::optional<std::vector<room_summary>>> list_rooms(std::chrono::milliseconds timeout) = 0;
  virtual boost::asio::awaitable<std::optional<room_detail>> describe_room(std::string room,
                                                                           std::chrono::milliseconds timeout) = 0;
  virtual bool up() const noexcept = 0;
  // Tells every node (this one included) to close `user`'s sessions in `room`, or in every room
  // when `room` is empty. False when the cluster is down and nobody could be told.
  virtual bool disconnect_everywhere(std::string room, std::string user) = 0;

protected:
  ~room_directory() = default;
};

// Thread-safe. Lock order: the registry's lock, then a room's.
class room_registry {
public:
  explicit room_registry(room_settings settings = {});
  ~room_registry();
  room_registry(room_registry const&) = delete;
  room_registry& operator=(room_registry const&) = delete;

  enum class refusal { none, draining, too_many_rooms };
  struct join_result {
    std::shared_ptr<crier::room> joined; // null when refused
    refusal why = refusal::none;
  };
  // Adds `m` to the named room, creating it unless max_rooms exist. Refused once draining began.
  join_result join(std::string const& name, room_member* m, join_options const& options = {});
  void leave(std::shared_ptr<room> const& r, room_member* m);
  // The named room, created (empty) if need be; null when draining or at max_rooms.
  std::shared_ptr<room> ensure(std::string const& name);
  // Cluster mode: rooms created from now on are replicas that report to `u`, and the cluster-wide
  // questions below go to `d`. Both must outlive every call into them (the server stops its
  // sessions before it drops the broker). Null for both: single node.
  void set_cluster(room_uplink* u, room_directory* d);
  // Where rooms created from now on report their events (the webhooks); null: nowhere. Like the
  // cluster, set before the server listens and cleared after every session is gone.
  void set_events(room_events* e);
  room_events* events() const noexcept { return events_; }

  // Before a join: waits (bounded) until the cluster's view of `name` is here, so that a
  // member's welcome is the cluster's. At once on a single node.
  boost::asio::awaitable<void> prepare(std::string name, std::chrono::milliseconds timeout);
  // Rooms with members and their counts: the cluster's, or this node's view when there is no
  // cluster or it cannot answer in time.
  boost::asio::awaitable<std::vector<room_summary>> list_everywhere(std::chrono::milliseconds timeout);
  // One room's members and seq, the same way.
  boost::asio::awaitable<room_detail> describe_everywhere(std::string name, std::chrono::milliseconds timeout);
  // False while the cluster is configured and unreachable.
  bool cluster_up() const noexcept;
  bool clustered() const noexcept { return directory_ != nullptr; }

  // Closes `user`'s sessions on this node, in `room` or (empty) in every room, with 4000
  // "disconnected by server". Returns how many.
  std::size_t disconnect(std::string_view room, std::string_view user);
  // The same on every node: through the cluster when there is one (false when it is down; this
  // node's sessions are closed regardless). `closed` is how many closed here, when not null.
  bool disconnect_everywhere(std::string room, std::string user, std::size_t* closed = nullptr);

  // Sends every big room's counted presence (the ticker calls it every presence interval).
  void flush_presence();

  // Drops the empty rooms past their time or over the count. Returns how many it dropped.
  std::size_t sweep(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

  // Stops all joins and asks every member of every room to close.
  void drain(std::uint16_t code, std::string_view reason);

  std::shared_ptr<room> find(std::string const& name) const;
  // Rooms that have members, by name.
  std::vector<room_summary> list() const;
  std::size_t room_count() const;
  // The sum of every member's queued bytes, for the gauge.
  std::size_t queued_bytes() const;

private:
  std::size_t sweep_locked(std::chrono::steady_clock::time_point now);
  std::shared_ptr<room>* slot_locked(std::string const& name);
  void evict_oldest_empty_locked();

  room_settings const settings_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<room>> rooms_;
  room_uplink* uplink_ = nullptr;
  room_directory* directory_ = nullptr;
  room_events* events_ = nullptr;
  std::size_t empty_rooms_ = 0;
  bool draining_ = false;
  // Declared last: it stops (and joins) first, before the rooms go.
  std::condition_variable_any ticker_wake_;
  std::mutex ticker_mutex_;
  std::jthread ticker_;
};

} // namespace crier
