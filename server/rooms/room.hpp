#pragma once
// A room: the members who see each other's messages, its message sequence and its recent
// history. It holds plain pointers and never owns a session; a session joins before its
// handshake completes and leaves before it is destroyed.

#include "common/protocol.hpp"
#include "common/token.hpp"
#include "server/rooms/frame.hpp"
#include "server/rooms/history.hpp"
#include "server/rooms/room_deflate.hpp"
#include "server/rooms/room_events.hpp"
#include "server/rooms/sequenced_message.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crier {

// The wire format a member speaks, negotiated with Sec-WebSocket-Protocol.
enum class wire_format : std::uint8_t {
  raw,  // no subprotocol: messages verbatim, no presence or welcome
  json, // crier.v1: JSON events
};

// What a room needs of a member. deliver() and close() come from any thread with the room's lock
// held, so they must be quick, must not block, and must never call back into the room.
class room_member {
public:
  virtual void deliver(frame const& f) = 0;
  // Called a few members ahead of deliver() in a fan-out, once the member's first line is in the
  // cache: asks for what deliver() will touch, in the object and beyond its first line (a hint;
  // it must not block or change anything).
  virtual void prefetch_for_delivery() const noexcept {}
  virtual void close(std::uint16_t code, std::string_view reason) = 0;
  virtual wire_format format() const noexcept = 0;
  virtual member_info const& info() const noexcept = 0;
  virtual std::size_t queued_bytes() const noexcept { return 0; }
  // True when the member negotiated permessage-deflate: the room then gives the frames it shares
  // a place for their compressed copy. Fixed for the member's life.
  virtual bool deflates() const noexcept { return false; }
  // True when, besides, the member's client lets the server keep its compression context and
  // keeps a full window: it can follow the room's compression stream. Fixed for the member's life.
  virtual bool follows_deflate_stream() const noexcept { return false; }
  // True for an event stream (SSE): the room then gives the JSON frames it shares a place for their
  // SSE rendering. Fixed for the member's life.
  virtual bool streams_events() const noexcept { return false; }
  // What the member's token allows here (everything for a guest). Without `presence` it is sent
  // no member list and no join, leave or presence event; without `history`, no history in its
  // welcome and no resume. Fixed for the member's life.
  virtual permissions granted() const noexcept { return all_permissions; }

protected:
  ~room_member() = default;
};

struct join_options {
  std::optional<std::uint64_t> since; // resume: replay the messages after this seq
  std::optional<std::string> epoch;   // the room epoch `since` belongs to, when the client knows it
  // What the history a join replays may take of the member's queue: a raw member's replayed
  // messages, a JSON member's welcome. The newest that fit are sent (always at least one; a
  // JSON member pages the rest), so that a long history of big messages cannot close a joining
  // member as a slow consumer, nor leave no room in its queue for the live traffic behind it.
  std::size_t replay_bytes = SIZE_MAX;
  std::size_t replay_messages = SIZE_MAX;
  // A JSON member's replayed history as message events of their own, right after a welcome whose
  // `history` is empty, instead of inside it: an event stream gives each message its own event
  // and id, so that the client's last id is always the last message it got.
  bool history_as_events = false;
};

// How a text message published through the server API went. The API answers the caller with it,
// so unlike a member's message it is never delivered without a seq: it is sequenced (or found to
// be a retry) or it is not published at all.
struct api_publish_result {
  enum class outcome : std::uint8_t {
    published, // seq is the message's
    duplicate, // the Idempotency-Key was seen within the history window: seq is the first one's
    unavailable, // the cluster cannot sequence it now; nothing was published
    unknown,     // Redis did not answer: it may have been published (retry with the same key)
  };
  outcome what = outcome::published;
  std::uint64_t seq = 0;
};
using api_publish_done = std::function<void(api_publish_result)>;

// Where a room replicated across nodes sends what its local members do (the broker, with
// --redis). Called from sessions' threads, sometimes with the room's lock held: it must only
// queue the work (post to its strand), never block or call back into the room.
class room_uplink {
public:
  virtual void publish_text(std::string const& room, member_info const& from, std::shared_ptr<std::string const> text) = 0;
  virtual void publish_binary(std::string const& room, member_info const& from, std::shared_ptr<std::string const> data) = 0;
  // A server API message, at most once per `idempotency_key` (empty: no key) within the room's
  // history window. `done` is called once, from the uplink's strand.
  virtual void publish_once(std::string const& room, member_info const& from, std::shared_ptr<std::string const> text,
                            std::string idempotency_key, api_publish_done done) = 0;
  virtual void joined(std::string const& room, member_info const& m) = 0;
  virtual void left(std::string const& room, member_info const& m) = 0;

protected:
  ~room_uplink() = default;
};

// Thread-safe.
class room {
public:
  // With an uplink (cluster mode) the room is this node's replica of a room shared through Redis:
  // text goes to the uplink, which sequences it cluster-wide and hands it back through
  // deliver_sequenced(); presence and binary go out through it too. Without one, all is local.
  room(std::string name, std::size_t history_capacity, std::string epoch,
       room_uplink* uplink = nullptr);

  std::string const& name() const noexcept { return name_; }
  std::string epoch() const;

  // Adds `m`. A JSON member gets its welcome (and a raw member resuming with `since` gets the
  // missed texts) in its queue before anything published later; the others hear a join event.
  // It all happens under one lock, so a resume never duplicates or misses a message.
  void join(room_member* m, join_options const& options);
  // Removes `m` and tells the others. Returns true when the room is empty afterwards.
  bool leave(room_member* m);

  // Publishes text from `from`: the next seq, rendered once per wire format, delivered to every
  // member (the sender included) and kept in the history. Deliveries happen under the lock on
  // purpose: it makes the room one ordered stream, so every member sees the same order and seq
  // increases by exactly one. A delivery only appends a pointer to a bounded queue.
  void publish_text(member_info const& from, std::shared_ptr<std::string const> text);
  // A server API message: like publish_text, but answered through `done` (on this thread when
  // single-node, from the uplink's strand in cluster mode), and published at most once per
  // idempotency key among the room's last `history` messages.
  void publish_once(member_info const& from, std::shared_ptr<std::string const> text, std::string idempotency_key,
                    api_publish_done done);
  // Binary is relayed as it is to every member of both formats; it has no seq and no history.
  void publish_binary(std::shared_ptr<std::string const> data, member_info const& from = {});

  // Cluster mode, from the broker. A message sequenced cluster-wide, in seq order: rendered once
  // per format, kept in the history, delivered to every local member.
  void deliver_sequenced(sequenced_message const& m);
  // A text message that could not be sequenced (Redis unreachable): local members get it without
  // a seq; it is not kept, and cannot be resumed.
  void deliver_unsequenced(member_info const& from, std::shared_ptr<std::string const> text);
  // Binary from another node.
  void deliver_remote_binary(std::shared_ptr<std::string const> data);
  // Presence on other nodes. Idempotent: a join of a known member or a leave of an unknown one
  // is not announced.
  void remote_join(member_info const& m);
  void remote_leave(member_info const& m);
  // Replaces the view of other nodes' members, announcing the differences to local members.
  void set_remote_members(std::vector<member_info> members);
  // Seeds the replica from Redis: the room's epoch, its newest seq and the stream's tail, oldest
  // first. When the epoch changed, the history is replaced; otherwise newer messages are added.
  void reseed(std::string const& epoch, std::uint64_t seq, std::vector<sequenced_message> const& tail);

  // The server API's history: up to `limit` message events after `since`, oldest first, and the
  // room's epoch and newest seq; `more` when there are newer ones past `limit`.
  struct history_slice {
    std::vector<std::shared_ptr<std::string const>> events;
    std::string epoch;
    std::uint64_t seq = 0;
    bool more = false;
    std::uint64_t last = 0; // the seq of the newest of `events` (0: none)
  };
  history_slice events_after(std::uint64_t since, std::size_t limit) const;
  // A reply to a history request, rendered for the one member who asked.
  // At most `max_bytes` of messages (always at least one), the newest of those asked for.
  frame history_page(history_request const& req, std::size_t max_bytes = SIZE_MAX) const;
  // A page of the members (local and remote), in id order, rendered for the one who asked.
  frame members_page(members_request const& req) const;

  // Big rooms. Up to `threshold` members (local and remote), presence is one join or leave event
  // per change, and a welcome lists everyone. Once a join takes the room past it, the room is
  // big: changes are only counted, and flush_presence() sends every JSON member one presence
  // event with the counts; a welcome lists at most `threshold` members (member_count says how
  // many there are; the rest are paged with members_page()). A flush that finds the room back
  // at or under the threshold sends the full member list with it, and the room is small again.
  void set_presence_threshold(std::size_t threshold) noexcept { presence_threshold_ = threshold; }
  // Shared frames of at least this many bytes carry a deflate_cache while a member that
  // compresses is in the room (SIZE_MAX: never). Smaller ones go out plain to everybody.
  void set_compression_min_size(std::size_t bytes) noexcept { compression_min_size_ = bytes; }
  // The room's compression streams (room_deflate.hpp): at `level`, once `min_members` members of a
  // format can follow one (0: never). After set_compression_min_size, before the first member.
  void set_compression_context(int level, std::size_t min_members) noexcept {
    deflate_.configure(level, min_members, compression_min_size_);
  }
  // Sends the presence counted since the last flush, if any. Called every presence interval.
  // Past presence_budget members, a room flushes less often, so that its presence costs at most
  // about presence_budget frames a second: a room of 10,000 flushes once a second.
  void flush_presence(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  static constexpr std::size_t presence_budget = 10'000;
  // True while counted presence waits for flush_presence(). Lock-free, for the ticker's scan.
  bool presence_pending() const noexcept { return presence_pending_.load(std::memory_order_relaxed); }
  // How many presence frames (join, leave, presence) have been queued to members, for tests and metrics.
  std::uint64_t presence_sent() const noexcept { return presence_sent_.load(std::memory_order_relaxed); }

  void close_all(std::uint16_t code, std::string_view reason);
  // Closes every local member whose user is `user`, with `code`; returns how many.
  std::size_t close_user(std::string_view user, std::uint16_t code, std::string_view reason);

  // Local members only: a room with none here is empty on this node.
  std::size_t size() const;
  // Local and, in cluster mode, remote members.
  std::size_t cluster_size() const;
  std::vector<member_info> members() const;
  std::vector<member_info> local_members() const;
  std::uint64_t last_seq() const;
  std::size_t queued_bytes() const;
  // Where fan-out is counted: once per publish, with the member count.
  void set_metrics(class metrics* m) noexcept { metrics_ = m; }
  // Where the room reports joins, leaves and messages of this node (the webhooks), and, on a
  // single node, when it becomes occupied or vacated (with --redis the broker decides those). Set
  // before the first member joins; null: nothing is reported.
  void set_events(room_events* e) noexcept { events_ = e; }
  // When the room last became empty (meaningful while size() == 0).
  std::chrono::steady_clock::time_point empty_since() const;

  // How many message events have been rendered to JSON: one per message at most, however many
  // members there are and however often it is replayed (the render-once rule, checked by
  // tests), and none while the room has only raw members.
  std::uint64_t json_renders() const noexcept { return json_renders_.load(std::memory_order_relaxed); }

private:
  // Delivers to every local member, `raw` or `json` as it speaks, and counts the fan-out once.
  void fan_out_locked(frame const& raw, frame const& json);
  // Binary: the same frame for both formats.
  void fan_out_locked(frame const& f) { fan_out_locked(f, f); }
  // A frame of `payload` for everyone in the room, with a place for its compressed copy when a
  // member compresses and the payload is worth it. `stream`: every member of that format gets it,
  // in the order frames are made, so it goes into that format's compression stream if the room
  // has one (room_deflate.hpp). Under the lock.
  frame shared_frame_locked(std::shared_ptr<std::string const> payload, bool binary = false,
                            std::optional<wire_format> stream = std::nullopt);
  // A JSON event's frame: the same, with a place for its SSE rendering while event streams listen.
  frame json_frame_locked(std::shared_ptr<std::string const> payload, bool streamed);
  // The same for a history entry's payload, keeping the place in `slot` for later replays.
  frame entry_frame_locked(std::shared_ptr<std::string const> const& payload,
                           std::shared_ptr<deflate_cache const>& slot, bool for_deflate) const;
  // Every member, local then remote. Under the lock.
  std::vector<member_info const*> everyone_locked() const;
  void deliver_presence_locked(std::string_view type, member_info const& subject, room_member const* skip);
  // One join or leave: told at once in a small room, counted in a big one. `total_after` is
  // the room's size once the change is made.
  void announce_locked(bool joined, member_info const& subject, room_member const* skip, std::size_t total_after);
  // Presence to every JSON member but `skip`, counted in presence_sent().
  void deliver_json_locked(frame const& f, room_member const* skip = nullptr);
  void push_message_locked(sequenced_message const& m, bool deliver);
  // Single node: the next seq for `text`, rendered, kept and delivered. Under the lock.
  std::uint64_t publish_locked(member_info const& from, std::shared_ptr<std::string const> text);
  // Reports an event of this node to events_, if it wants that type. Under the lock.
  void report_locked(event_type type, member_info const& who = {}, std::uint64_t seq = 0,
                     std::shared_ptr<std::string const> text = {}) const;
  // The entry's JSON rendering, made now if nobody needed it before. Under the lock.
  std::string const* json_of(history_entry const& e) const;

  std::string const name_;
  room_uplink* const uplink_;
  std::string epoch_;
  mutable std::mutex mutex_;
  std::vector<room_member*> members_;
  std::vector<member_info> remote_members_; // cluster mode: members on other nodes
  std::size_t json_members_ = 0;
  std::size_t deflate_members_ = 0;
  std::size_t stream_members_ = 0; // event streams
  std::size_t compression_min_size_ = 0;
  room_deflate deflate_;
  std::uint64_t seq_ = 0;
  history_ring history_;
  // Single node: the Idempotency-Keys of API messages, with their seq, while that seq is within
  // the last history_.capacity() messages (pruned as newer keys come).
  std::unordered_map<std::string, std::uint64_t> idempotency_;
  std::chrono::steady_clock::time_point empty_since_;
  mutable std::atomic<std::uint64_t> json_renders_{0};
  std::size_t presence_threshold_ = static_cast<std::size_t>(-1);
  bool big_ = false;
  std::chrono::steady_clock::time_point last_flush_{};
  std::uint64_t pending_joined_ = 0, pending_left_ = 0;
  std::atomic<bool> presence_pending_{false};
  std::atomic<std::uint64_t> presence_sent_{0};
  class metrics* metrics_ = nullptr;
  room_events* events_ = nullptr;
};

} // namespace crier
