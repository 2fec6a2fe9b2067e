#include "server/rooms/history.hpp"

#include <algorithm>

namespace crier {

std::optional<std::uint64_t> history_ring::oldest_seq() const {
  if (entries_.empty()) return std::nullopt;
  return at(0).seq;
}

void history_ring::push(history_entry e) {
  if (capacity_ == 0) return;
  if (entries_.size() < capacity_) {
    entries_.push_back(std::move(e));
    return;
  }
  entries_[start_] = std::move(e);
  start_ = (start_ + 1) % capacity_;
}

std::size_t history_ring::first_index_above(std::uint64_t seq) const {
  // Seqs in the ring increase but may have gaps (a cluster node can skip a lost seq), so the
  // index is found by binary search rather than by arithmetic.
  std::size_t lo = 0, hi = entries_.size();
  while (lo < hi) {
    auto const mid = lo + (hi - lo) / 2;
    if (at(mid).seq <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

void history_ring::clear() {
  entries_.clear();
  start_ = 0;
}

std::vector<history_entry const*> history_ring::after(std::uint64_t since) const {
  std::vector<history_entry const*> out;
  if (entries_.empty()) return out;
  auto i = first_index_above(since);
  out.reserve(entries_.size() - i);
  for (; i < entries_.size(); ++i) out.push_back(&at(i));
  return out;
}

std::vector<history_entry const*> history_ring::before(std::uint64_t before, std::size_t limit) const {
  std::vector<history_entry const*> out;
  if (entries_.empty() || limit == 0 || before == 0) return out;
  auto const end = first_index_above(before - 1); // index one past the last match
  auto const begin = end > limit ? end - limit : 0;
  for (auto i = begin; i < end; ++i) out.push_back(&at(i));
  return out;
}

bool resume_is_complete(std::uint64_t since, std::uint64_t last, std::optional<std::uint64_t> oldest) noexcept {
  if (since > last) return false;
  if (since == last) return true;
  return oldest.has_value() && *oldest <= since + 1;
}

} // namespace crier
