#pragma once
// Puts a room's text messages back into seq order on one node. A node learns of a message in two
// ways that race each other: the reply to its own publish script (on the command connection) and
// the room's channel (on the pub/sub connection) for everyone else's. The buffer holds what
// arrived early until the seqs before it are in, so local members see one total order, the
// same on every node. A gap that does not fill (a lost channel message, a publish whose reply
// timed out) is filled from the stream or skipped by the broker; bounded by max_pending.

#include "server/rooms/sequenced_message.hpp"

#include <cstdint>
#include <map>
#include <vector>

namespace crier {

// Not thread-safe: the broker uses it on its strand.
class reorder_buffer {
public:
  explicit reorder_buffer(std::uint64_t next = 1, std::size_t max_pending = 10'000)
    : next_(next), max_pending_(max_pending) {}

  // Starts over expecting `next`: whatever is held below it is dropped, the rest kept.
  void reset(std::uint64_t next);
  // Holds `m` unless its seq was already released or is already held (a duplicate): false then.
  bool add(sequenced_message m);
  // The consecutive run from next(), in order; next() moves past it.
  std::vector<sequenced_message> take_ready();
  // Gives up on the seqs missing before the first held one; returns how many were skipped.
  std::uint64_t skip_gap();

  std::uint64_t next() const noexcept { return next_; }
  bool waiting() const noexcept { return !pending_.empty(); }
  // The lowest seq held (meaningful while waiting()).
  std::uint64_t first_held() const noexcept { return pending_.empty() ? next_ : pending_.begin()->first; }
  // True when more is held than max_pending: the gap should be skipped rather than waited for.
  bool over_bound() const noexcept { return pending_.size() > max_pending_; }
  std::size_t held() const noexcept { return pending_.size(); }
  bool holds(std::uint64_t seq) const { return pending_.contains(seq); }

private:
  std::uint64_t next_;
  std::size_t max_pending_;
  std::map<std::uint64_t, sequenced_message> pending_;
};

} // namespace crier
