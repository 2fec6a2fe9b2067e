#pragma once
// What one node tells the others on a room's Redis channel, and what the room's stream keeps: a
// binary-safe envelope. A one-line ASCII header (kind, seq, node, ts, the sender's id and name
// lengths) is followed by the sender's id and name and then the payload bytes, untouched, so a
// binary message crosses nodes with the same bytes and a text message is rendered once per node.
//
//   "<kind> <seq> <node> <ts> <id length> <label length>\n" <id> <label> <payload>
//
// A member's label carries its display name and its user (the token's sub, empty for a guest) as
// one field, "<user length>:" <user> <name>, so that the scripts, which move members around
// without reading them, see one opaque string where a member has more than one part.
//
// The header is split around seq (encode_split) because the Lua script that publishes a text
// message only learns the seq when it INCRs the room's counter. A presence envelope is split
// around its node (presence_split) because the scripts that announce members they find in Redis
// learn the node there; they append the member part, "<id length> <label length>\n" <id> <label>.

#include "common/protocol.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace crier {

struct envelope {
  enum class kind : char { text = 't', binary = 'b', join = 'j', leave = 'l' };
  kind type = kind::text;
  std::uint64_t seq = 0; // text only: the room's cluster-wide seq; 0 otherwise
  std::string node;      // the node it came from (no spaces)
  std::int64_t ts = 0;   // milliseconds since the epoch
  member_info from;      // the sender, or the member who joined or left
  std::string payload;   // message bytes; empty for presence
};

// The label of `m` (its name and user), and back into `out`; false when `label` is not one.
std::string member_label(member_info const& m);
bool read_member_label(std::string_view label, member_info& out);

std::string encode(envelope const& e);
// The envelope with its seq left out: the script publishes first + seq + second.
std::pair<std::string, std::string> encode_split(envelope const& e);
// A join or leave envelope with its node and member left out: a script publishes
// first + node + second + "<id length> <label length>\n" + id + label.
std::pair<std::string, std::string> presence_split(envelope::kind k, std::int64_t ts);
// nullopt when `wire` is not a well-formed envelope.
std::optional<envelope> decode_envelope(std::string_view wire);

} // namespace crier
