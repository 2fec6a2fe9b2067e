#include "server/history.hpp"

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

std::vector<history_entry const*> history_ring::after(std::uint64_t since) const {
  std::vector<history_entry const*> out;
  if (entries_.empty()) return out;
  // Sequence numbers in the ring are consecutive, so the first match is found by arithmetic.
  auto const first = at(0).seq;
  std::size_t i = since < first ? 0 : static_cast<std::size_t>(since - first + 1);
  out.reserve(i < entries_.size() ? entries_.size() - i : 0);
  for (; i < entries_.size(); ++i) out.push_back(&at(i));
  return out;
}

std::vector<history_entry const*> history_ring::before(std::uint64_t before, std::size_t limit) const {
  std::vector<history_entry const*> out;
  if (entries_.empty() || limit == 0) return out;
  auto const first = at(0).seq;
  if (before <= first) return out;
  auto const end = std::min<std::uint64_t>(before - first, entries_.size()); // index one past the last match
  auto const begin = end > limit ? end - limit : 0;
  for (auto i = begin; i < end; ++i) out.push_back(&at(static_cast<std::size_t>(i)));
  return out;
}

bool resume_is_complete(std::uint64_t since, std::uint64_t last, std::optional<std::uint64_t> oldest) noexcept {
  if (since > last) return false;
  if (since == last) return true;
  return oldest.has_value() && *oldest <= since + 1;
}

} // namespace crier
