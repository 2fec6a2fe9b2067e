#pragma once
// What crier keeps in Redis, spelled once: every key and channel name, the member hash's values,
// the stream's ids and entries, and the Lua scripts that change them atomically. The broker says
// what it wants done; this file says how it looks in Redis. docs/scaling.md has the design.
//
//   crier:room:<room>:seq       the room's last seq (INCR)
//   crier:room:<room>:stream    capped stream of text envelopes, id "<seq>-1", field "e"
//   crier:room:<room>:epoch     the room's epoch: a new one means the seqs started again
//   crier:room:<room>:members   hash: member id -> "<node> <label>" (name and user)
//   crier:room:<room>:idempotency  sorted set: the Idempotency-Keys of server API messages, by
//                               the seq they got; pruned to the room's history window
//   crier:rooms                 set: rooms with members on some node
//   crier:nodes                 set: nodes that have sent a heartbeat
//   crier:node:<node>           the node's heartbeat (expires)
//   crier:node:<node>:rooms     set: rooms the node has members in
//   crier:<db>:room:<room>      the room's pub/sub channel: pub/sub ignores SELECT, so it names
//                               the db
//   crier:node:<node>:echo      the node's liveness channel: it publishes to it on its command
//                               connection and hears it back on its pub/sub connection
//   crier:<db>:control          every node's control channel: the server API's disconnects

#include "common/envelope.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace crier {

struct redis_reply;

// The names of one deployment's keys and channels (the channels depend on the database).
class redis_schema {
public:
  // A key or channel name around the part only known at run time: prefix + name + suffix. The
  // scripts that find rooms and nodes inside Redis get these, so that they spell no key.
  struct pattern {
    std::string prefix, suffix;
    std::string operator()(std::string_view name) const;
  };

  explicit redis_schema(unsigned db);

  static std::string seq_key(std::string_view room);
  static std::string stream_key(std::string_view room);
  static std::string epoch_key(std::string_view room);
  static std::string members_key(std::string_view room);
  static std::string idempotency_key(std::string_view room);
  static pattern members_pattern();
  static std::string rooms_key();
  static std::string nodes_key();
  static pattern heartbeat_pattern();
  static std::string heartbeat_key(std::string_view node);
  static pattern node_rooms_pattern();
  static std::string node_rooms_key(std::string_view node);

  std::string channel(std::string_view room) const { return channels_(room); }
  std::string const& channel_prefix() const noexcept { return channels_.prefix; }
  // The channel every node hears the server API's disconnects on (not a room's).
  std::string control_channel() const { return control_channel_; }
  // A disconnect on the control channel: the user's sessions in `room`, or in every room when
  // `room` is empty. "d\n<room>\n<user>" (neither a room name nor a user has control characters).
  struct disconnect_order {
    std::string room, user;
  };
  static std::string disconnect_message(std::string_view room, std::string_view user);
  static std::optional<disconnect_order> parse_disconnect(std::string_view message);
  // A node's liveness channel (not a room's: room_of() does not match it).
  static std::string echo_channel(std::string_view node) { return "crier:node:" + std::string(node) + ":echo"; }
  // The room a channel message came on; nullopt when the channel is not a room's of this db.
  std::optional<std::string_view> room_of(std::string_view channel) const;

  // A member hash value, "<node> <label>" (the member's label, common/envelope.hpp), and back;
  // nullopt without a space.
  static std::string member_value(std::string_view node, std::string_view label);
  struct member_entry {
    std::string_view node, label;
  };
  static std::optional<member_entry> split_member_value(std::string_view value);

  // Stream ids are "<seq>-1" (the publish script's XADD), so a range of seqs is
  // "<from>-0" .. "<to>-1", and "<since>-2" lies just past the entry of `since`.
  static std::string stream_first(std::uint64_t from);
  static std::string stream_last(std::uint64_t to);
  static std::string stream_after(std::uint64_t since); // "-" (the start) when since is 0
  // The digits before the dash; nullopt when one is not a digit.
  static std::optional<std::uint64_t> seq_of_stream_id(std::string_view id);
  // The text envelope of one XRANGE/XREVRANGE entry, [id, [field, value]], its seq from the id.
  static std::optional<envelope> stream_entry(redis_reply const& entry);

private:
  pattern channels_;
  std::string control_channel_;
};

// The Lua scripts, each one atomic step; what each does and why is beside its text in
// redis_schema.cpp. KEYS and ARGV are listed there too.
namespace redis_scripts {
extern std::string const publish;  // seq, stream entry and channel message of one text message
extern std::string const publish_once; // the same for a server API message, once per idempotency key
extern std::string const warm;     // a replica's snapshot: epoch, seq, newest entries, members
extern std::string const join;     // a member joins
extern std::string const leave;    // a member leaves
extern std::string const sync;     // after an outage: this node's entries become its members
extern std::string const sweep;    // dead nodes' members are removed and announced gone
extern std::string const rooms;    // rooms with members anywhere, and how many
extern std::string const describe; // one room's members and seq
} // namespace redis_scripts

} // namespace crier
