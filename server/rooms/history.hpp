#pragma once
// A room's retained messages: a ring of the last N message events. Each keeps the text raw
// members receive and, once some JSON member has needed it, the rendered "message" event, so a
// message is rendered to JSON at most once whoever replays it, and a room of raw members never
// pays for JSON at all.

#include "common/protocol.hpp"
#include "server/rooms/deflated.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace crier {

struct history_entry {
  std::uint64_t seq = 0;
  std::int64_t ts = 0;                     // when it was published, ms since the epoch
  member_info from;                        // who sent it, for rendering it later
  std::shared_ptr<std::string const> text; // what raw members receive
  // The rendered "message" event, or null until a JSON member first needs it. The room renders
  // it under its lock (see room::json_of), which is why it may be set through a const entry.
  mutable std::shared_ptr<std::string const> json;
  // Their compressed copies, once a member with permessage-deflate needed them: a replay sends
  // the bytes the live broadcast compressed. Set under the room's lock like `json`.
  mutable std::shared_ptr<deflate_cache const> text_deflated = nullptr;
  mutable std::shared_ptr<deflate_cache const> json_deflated = nullptr;
};

// Not thread-safe: the room guards it with its lock. Sequence numbers are pushed in increasing
// order, consecutively on a single node (a cluster node may leave a gap).
class history_ring {
public:
  explicit history_ring(std::size_t capacity) : capacity_(capacity) {}

  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t size() const noexcept { return entries_.size(); }
  std::optional<std::uint64_t> oldest_seq() const;

  void push(history_entry e);
  void clear();

  // Entries with seq > since, oldest first.
  std::vector<history_entry const*> after(std::uint64_t since) const;
  // Up to `limit` of the newest entries with seq < before, oldest first.
  std::vector<history_entry const*> before(std::uint64_t before, std::size_t limit) const;

private:
  std::size_t first_index_above(std::uint64_t seq) const;
  history_entry const& at(std::size_t i) const { return entries_[(start_ + i) % entries_.size()]; }

  std::size_t capacity_;
  std::vector<history_entry> entries_; // grows to capacity_, then wraps at start_
  std::size_t start_ = 0;
};

// The resume arithmetic. A client has seen every message up to `since`; the room's newest seq is
// `last` and its ring starts at `oldest` (nullopt when empty). The resume is complete when no
// message after `since` has left the ring. A `since` beyond `last` is from another life of the
// room and cannot be complete.
bool resume_is_complete(std::uint64_t since, std::uint64_t last, std::optional<std::uint64_t> oldest) noexcept;

} // namespace crier
