#include "server/cluster/redis_schema.hpp"

#include "server/cluster/redis_connection.hpp"

namespace crier {

namespace {

redis_schema::pattern room_pattern(std::string_view field) {
  // Appended rather than `":" + std::string(field)`: GCC 12's optimiser warns a false
  // -Wrestrict on that operator+ in release builds.
  std::string suffix(1, ':');
  suffix += field;
  return {"crier:room:", std::move(suffix)};
}

} // namespace

std::string redis_schema::pattern::operator()(std::string_view name) const {
  std::string out;
  out.reserve(prefix.size() + name.size() + suffix.size());
  out += prefix;
  out += name;
  out += suffix;
  return out;
}

redis_schema::redis_schema(unsigned db)
  : channels_{"crier:" + std::to_string(db) + ":room:", ""}, control_channel_("crier:" + std::to_string(db) + ":control") {}

std::string redis_schema::disconnect_message(std::string_view room, std::string_view user) {
  std::string out = "d\n";
  out += room;
  out += '\n';
  out += user;
  return out;
}

std::optional<redis_schema::disconnect_order> redis_schema::parse_disconnect(std::string_view message) {
  if (!message.starts_with("d\n")) return std::nullopt;
  message.remove_prefix(2);
  auto const nl = message.find('\n');
  if (nl == std::string_view::npos || nl + 1 == message.size()) return std::nullopt;
  return disconnect_order{std::string(message.substr(0, nl)), std::string(message.substr(nl + 1))};
}

std::string redis_schema::seq_key(std::string_view room) { return room_pattern("seq")(room); }
std::string redis_schema::stream_key(std::string_view room) { return room_pattern("stream")(room); }
std::string redis_schema::epoch_key(std::string_view room) { return room_pattern("epoch")(room); }
std::string redis_schema::members_key(std::string_view room) { return members_pattern()(room); }
std::string redis_schema::idempotency_key(std::string_view room) { return room_pattern("idempotency")(room); }
redis_schema::pattern redis_schema::members_pattern() { return room_pattern("members"); }
std::string redis_schema::rooms_key() { return "crier:rooms"; }
std::string redis_schema::nodes_key() { return "crier:nodes"; }
redis_schema::pattern redis_schema::heartbeat_pattern() { return {"crier:node:", ""}; }
std::string redis_schema::heartbeat_key(std::string_view node) { return heartbeat_pattern()(node); }
redis_schema::pattern redis_schema::node_rooms_pattern() { return {"crier:node:", ":rooms"}; }
std::string redis_schema::node_rooms_key(std::string_view node) { return node_rooms_pattern()(node); }

std::optional<std::string_view> redis_schema::room_of(std::string_view channel) const {
  if (!channel.starts_with(channels_.prefix)) return std::nullopt;
  return channel.substr(channels_.prefix.size());
}

std::string redis_schema::member_value(std::string_view node, std::string_view label) {
  std::string out(node);
  out += ' ';
  out += label;
  return out;
}

std::optional<redis_schema::member_entry> redis_schema::split_member_value(std::string_view value) {
  auto const space = value.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  return member_entry{value.substr(0, space), value.substr(space + 1)};
}

std::string redis_schema::stream_first(std::uint64_t from) { return std::to_string(from) + "-0"; }
std::string redis_schema::stream_last(std::uint64_t to) { return std::to_string(to) + "-1"; }
std::string redis_schema::stream_after(std::uint64_t since) { return since > 0 ? std::to_string(since) + "-2" : "-"; }

std::optional<std::uint64_t> redis_schema::seq_of_stream_id(std::string_view id) {
  std::uint64_t seq = 0;
  auto const dash = id.find('-');
  for (std::size_t i = 0; i < dash && i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9') return std::nullopt;
    seq = seq * 10 + static_cast<std::uint64_t>(id[i] - '0');
  }
  return seq;
}

std::optional<envelope> redis_schema::stream_entry(redis_reply const& entry) {
  if (entry.type != redis_reply::kind::array || entry.elements.size() != 2) return std::nullopt;
  auto const& fields = entry.elements[1];
  if (fields.elements.size() < 2) return std::nullopt;
  auto e = decode_envelope(fields.elements[1].str);
  if (!e || e->type != envelope::kind::text) return std::nullopt;
  if (auto seq = seq_of_stream_id(entry.elements[0].str)) e->seq = *seq;
  return e;
}

// ---- the scripts ----------------------------------------------------------------------------
//
// Every key a script touches comes in KEYS, or, where the script only finds the room or node in
// Redis (sweep, rooms), as a pattern in ARGV: no script spells a key. Keys found inside a script
// are why crier does not run on Redis Cluster; reading them first and passing them in would
// split the step in two and lose its atomicity.

namespace {

// The member part of a presence envelope (common/envelope.hpp): the scripts that find members
// in Redis append it to the halves of presence_split around the node.
constexpr char const* presence_lua = R"lua(
local function presence(head, id, name)
  return head .. #id .. ' ' .. #name .. '\n' .. id .. name
end
)lua";

} // namespace

namespace redis_scripts {

// Sequences one text message: the seq, the stream entry and the channel message in one atomic
// step, so that every node sees the same total order. KEYS: seq, stream, channel. ARGV: the
// envelope before and after its seq (encode_split), the stream's MAXLEN (0: no history kept).
// The entry's id, "<seq>-1", is built here: the seq is only known here (redis_schema.hpp).
std::string const publish = R"lua(
local seq = redis.call('INCR', KEYS[1])
local env = ARGV[1] .. seq .. ARGV[2]
if tonumber(ARGV[3]) > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], seq .. '-1', 'e', env)
end
redis.call('PUBLISH', KEYS[3], env)
return seq
)lua";

// A server API message: as `publish`, but a retry with the same idempotency key within the
// room's history window (its last MAXLEN seqs) publishes nothing and answers the first seq.
// KEYS: seq, stream, channel, idempotency. ARGV: the envelope's halves, MAXLEN, the key (empty:
// none). Returns {seq, 1 if it was a retry}.
std::string const publish_once = R"lua(
local window = tonumber(ARGV[3])
if ARGV[4] ~= '' then
  local seen = redis.call('ZSCORE', KEYS[4], ARGV[4])
  if seen and tonumber(seen) + window > tonumber(redis.call('GET', KEYS[1]) or '0') then
    return {tonumber(seen), 1}
  end
end
local seq = redis.call('INCR', KEYS[1])
local env = ARGV[1] .. seq .. ARGV[2]
if window > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], seq .. '-1', 'e', env)
end
redis.call('PUBLISH', KEYS[3], env)
if ARGV[4] ~= '' and window > 0 then
  redis.call('ZADD', KEYS[4], seq, ARGV[4])
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', seq - window)
end
return {seq, 0}
)lua";

// A replica's snapshot: the room's epoch (set to ours when it has none), its seq (raised to ours
// when Redis lost it), the stream's newest entries after `since`, and the members, read at one
// instant. KEYS: epoch, seq, stream, members. ARGV: our epoch, count, since, the stream id just
// past `since` (stream_after).
std::string const warm = R"lua(
redis.call('SET', KEYS[1], ARGV[1], 'NX')
local epoch = redis.call('GET', KEYS[1])
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
local since = tonumber(ARGV[3])
if epoch == ARGV[1] and since > seq then
  redis.call('SET', KEYS[2], ARGV[3])
  seq = since
end
local entries = {}
if tonumber(ARGV[2]) > 0 then entries = redis.call('XREVRANGE', KEYS[3], '+', ARGV[4], 'COUNT', ARGV[2]) end
return {epoch, seq, entries, redis.call('HGETALL', KEYS[4])}
)lua";

// A member joins: listed under this node, and announced once, however often it is repeated.
// KEYS: members, node's rooms, all rooms, channel. ARGV: id, member value, join envelope, room.
// Returns {added, occupied}: occupied is 1 when this join took the room from no member on any
// node to one. The script is atomic, so exactly one script ever sees that change: the node that
// ran it tells the webhooks, and no other node can.
std::string const join = R"lua(
local added = redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[4])
if added == 1 then redis.call('PUBLISH', KEYS[4], ARGV[3]) end
local occupied = 0
if added == 1 and redis.call('HLEN', KEYS[1]) == 1 then occupied = 1 end
return {added, occupied}
)lua";

// A member leaves: announced once, and only if still listed (a sweep may have been first).
// KEYS as for join. ARGV: id, leave envelope, room. Returns {removed, vacated}: vacated is 1
// when this leave took the room's last member on any node (as for join, one script sees it).
std::string const leave = R"lua(
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
if removed == 1 then redis.call('PUBLISH', KEYS[4], ARGV[2]) end
local vacated = 0
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[3])
  if removed == 1 then vacated = 1 end
end
return {removed, vacated}
)lua";

// After an outage: this node's entries in a room's member hash become exactly its local
// members, announcing each difference once. KEYS as for join. ARGV: this node's member value
// prefix (member_value(node, "")), room, the join and the leave envelope up to the member
// (presence_split around this node), then id and name pairs. Returns {occupied, vacated}: whether
// the room went from no member anywhere to some, or the other way (as for join and leave).
std::string const sync = std::string(presence_lua) + R"lua(
local h, mine = KEYS[1], ARGV[1]
local before = redis.call('HLEN', h)
local want = {}
for i = 5, #ARGV, 2 do want[ARGV[i]] = true end
local all = redis.call('HGETALL', h)
for i = 1, #all, 2 do
  local id, v = all[i], all[i + 1]
  if string.sub(v, 1, #mine) == mine and not want[id] then
    redis.call('HDEL', h, id)
    redis.call('PUBLISH', KEYS[4], presence(ARGV[4], id, string.sub(v, #mine + 1)))
  end
end
for i = 5, #ARGV, 2 do
  local id, name = ARGV[i], ARGV[i + 1]
  if redis.call('HSET', h, id, mine .. name) == 1 then
    redis.call('PUBLISH', KEYS[4], presence(ARGV[3], id, name))
  end
end
if #ARGV >= 5 then
  redis.call('SADD', KEYS[2], ARGV[2])
  redis.call('SADD', KEYS[3], ARGV[2])
else
  redis.call('SREM', KEYS[2], ARGV[2])
end
local after = redis.call('HLEN', h)
if after == 0 then redis.call('SREM', KEYS[3], ARGV[2]) end
local occupied, vacated = 0, 0
if before == 0 and after > 0 then occupied = 1 end
if before > 0 and after == 0 then vacated = 1 end
return {occupied, vacated}
)lua";

// Every node runs this: the members of nodes whose heartbeat key expired are removed and their
// leave published, all in one script, so each leave is announced by exactly one node. KEYS: all
// nodes, all rooms. ARGV: the leave envelope around its node (presence_split), then the patterns
// (prefix, suffix) of a node's heartbeat, a node's rooms and a room's members, and the channel
// prefix. A member value starts with "<node> " (member_value): the node is only known here.
// Returns {removed, vacated}: the members removed, as room, id and label triples, and the rooms
// they left empty. The node whose sweep removed them tells the webhooks: a dead node cannot.
std::string const sweep = std::string(presence_lua) + R"lua(
local before, after = ARGV[1], ARGV[2]
local function key(i, name) return ARGV[i] .. name .. ARGV[i + 1] end
local removed, vacated = {}, {}
for _, node in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', key(3, node)) == 0 then
    local mine = node .. ' '
    local head = before .. node .. after
    for _, room in ipairs(redis.call('SMEMBERS', key(5, node))) do
      local h = key(7, room)
      local gone = 0
      local all = redis.call('HGETALL', h)
      for i = 1, #all, 2 do
        local id, v = all[i], all[i + 1]
        if string.sub(v, 1, #mine) == mine then
          redis.call('HDEL', h, id)
          redis.call('PUBLISH', ARGV[9] .. room, presence(head, id, string.sub(v, #mine + 1)))
          table.insert(removed, room)
          table.insert(removed, id)
          table.insert(removed, string.sub(v, #mine + 1))
          gone = gone + 1
        end
      end
      if redis.call('HLEN', h) == 0 then
        redis.call('SREM', KEYS[2], room)
        if gone > 0 then table.insert(vacated, room) end
      end
    end
    redis.call('DEL', key(5, node))
    redis.call('SREM', KEYS[1], node)
  end
end
return {removed, vacated}
)lua";

// Rooms with members anywhere, and how many; rooms left empty are dropped from the set on the
// way. KEYS: all rooms. ARGV: the pattern (prefix, suffix) of a room's members.
std::string const rooms = R"lua(
local out = {}
for _, room in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local n = redis.call('HLEN', ARGV[1] .. room .. ARGV[2])
  if n > 0 then
    table.insert(out, room)
    table.insert(out, n)
  else
    redis.call('SREM', KEYS[1], room)
  end
end
return out
)lua";

// One room's member hash and seq, read at one instant. KEYS: members, seq.
std::string const describe = R"lua(
return {redis.call('HGETALL', KEYS[1]), tonumber(redis.call('GET', KEYS[2]) or '0')}
)lua";

} // namespace redis_scripts

} // namespace crier
