#include "server/cluster/reorder_buffer.hpp"

namespace crier {

void reorder_buffer::reset(std::uint64_t next) {
  next_ = next;
  pending_.erase(pending_.begin(), pending_.lower_bound(next));
}

bool reorder_buffer::add(sequenced_message m) {
  if (m.seq < next_) return false;
  auto const seq = m.seq;
  return pending_.try_emplace(seq, std::move(m)).second;
}

std::vector<sequenced_message> reorder_buffer::take_ready() {
  std::vector<sequenced_message> out;
  for (auto it = pending_.begin(); it != pending_.end() && it->first == next_; it = pending_.erase(it)) {
    out.push_back(std::move(it->second));
    ++next_;
  }
  return out;
}

std::uint64_t reorder_buffer::skip_gap() {
  if (pending_.empty()) return 0;
  auto const skipped = pending_.begin()->first - next_;
  next_ = pending_.begin()->first;
  return skipped;
}

} // namespace crier
