#pragma once
// The Server-Sent Events wire format of /sse/<room>, spelled once: how a crier.v1 event becomes
// an SSE event, the ids that resume a stream, and the stream's own lines (retry, keep-alive,
// close). A subscriber gets the same JSON objects a crier.v1 WebSocket client gets, one per
// event, with the event's `type` as the SSE event name.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace crier {

inline constexpr std::string_view sse_content_type = "text/event-stream";

// A message's place, as an SSE id: "<epoch>:<seq>". The epoch is in it because a seq means
// something only together with its room's epoch.
struct sse_position {
  std::string epoch;
  std::uint64_t seq = 0;
};
std::string format_event_id(std::string_view epoch, std::uint64_t seq);
// Parses "<epoch>:<seq>" (the epoch 1-64 characters of [A-Za-z0-9], the seq a decimal number
// without sign). nullopt for anything else.
std::optional<sse_position> parse_event_id(std::string_view id);

// The crier.v1 event's `type` and, for a sequenced message, its `seq`, read from the front of an
// event as crier renders it ({"type":"...","seq":N,...}). nullopt when it does not start that way.
struct event_head {
  std::string_view type;
  std::optional<std::uint64_t> seq;
};
std::optional<event_head> read_event_head(std::string_view json);

// Appends the SSE event for one crier.v1 event: "event: <type>", for a sequenced message
// "id: <epoch>:<seq>", then the JSON as data lines (one: crier's JSON has no raw line breaks;
// should any come, each line becomes its own data line, which the client joins back).
// False, appending nothing, when `json` is not a crier.v1 event.
bool append_sse_event(std::string& out, std::string_view json, std::string_view epoch);

// The reconnection delay a client's EventSource should use, sent once at the start.
std::string sse_retry(std::uint64_t ms);
// A comment line: ignored by clients, it keeps proxies from timing the stream out.
inline constexpr std::string_view sse_keep_alive = ": ping\n\n";
// The last event of a stream the server ends (shutdown, slow consumer, disconnected by the
// backend): {"type":"close","code":N,"reason":"..."}, the codes a WebSocket client would get.
std::string sse_close_event(std::uint16_t code, std::string_view reason);

} // namespace crier
