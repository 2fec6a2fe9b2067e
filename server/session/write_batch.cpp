#include "server/session/write_batch.hpp"

#include "server/session/frame_header.hpp"

#include <cstring>

namespace crier {

std::size_t frame_batch(write_batch& b) {
  // Everything queued goes out in one gather write instead of one write per message: this is
  // what keeps the cost per delivery down when a session has several messages waiting. Small
  // payloads are copied next to their headers, so that a batch of chat messages is one
  // contiguous buffer; large ones are sent from the shared payload where they are.
  constexpr std::size_t copy_below = 2048;
  std::size_t scratch_size = 0;
  for (auto const& f : b.frames) scratch_size += max_frame_header + (f.size() < copy_below ? f.size() : 0);
  b.bytes.resize(scratch_size);
  b.buffers.clear();
  std::size_t total = 0;
  std::uint8_t* out = b.bytes.data();
  std::uint8_t const* segment = out; // the start of the scratch bytes not yet in `buffers`
  for (auto const& f : b.frames) {
    out += encode_frame_header(out, f.size(), f.binary);
    if (f.size() < copy_below) {
      if (f.size() > 0) std::memcpy(out, f.payload->data(), f.size());
      out += f.size();
    } else {
      b.buffers.emplace_back(segment, static_cast<std::size_t>(out - segment));
      b.buffers.emplace_back(f.payload->data(), f.size());
      total += f.size();
      segment = out;
    }
  }
  if (out != segment) b.buffers.emplace_back(segment, static_cast<std::size_t>(out - segment));
  return total + static_cast<std::size_t>(out - b.bytes.data());
}

void drop_written(write_batch& b, std::size_t written) {
  auto first = b.buffers.begin();
  while (written > 0 && written >= first->size()) written -= (first++)->size();
  if (written > 0) *first += written;
  b.buffers.erase(b.buffers.begin(), first);
}

} // namespace crier
