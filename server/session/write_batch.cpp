#include "server/session/write_batch.hpp"

#include "server/session/frame_header.hpp"

#include <cstring>

namespace crier {

std::size_t frame_batch(write_batch& b, deflate_policy const* deflate) {
  // Everything queued goes out in one gather write instead of one write per message: this is
  // what keeps the cost per delivery down when a session has several messages waiting. Small
  // payloads are copied next to their headers, so that a batch of chat messages is one
  // contiguous buffer; large ones are sent from the shared payload where they are.
  constexpr std::size_t copy_below = 2048;
  b.wire.clear();
  b.own.clear();
  // At most one own copy per frame: with the room reserved, the strings never move, and the
  // views into them stay valid.
  if (deflate != nullptr) b.own.reserve(b.frames.size());
  b.compressed = 0;
  b.streamed = 0;
  std::size_t scratch_size = 0;
  for (auto const& f : b.frames) {
    std::string_view bytes = f.payload ? std::string_view(*f.payload) : std::string_view{};
    bool compressed = false;
    if (deflate != nullptr && f.size() >= deflate->min_size && f.size() <= deflate->max_size) {
      std::string_view copy;
      bool in_step = false;
      auto* const sync = deflate->sync;
      if (auto const* s = f.deflated ? f.deflated->streamed() : nullptr;
          s && sync != nullptr && (s->reset || (sync->stream == s->stream && sync->next == s->index))) {
        // The client's window holds exactly what the stream's compressor had when it made this.
        copy = s->bytes;
        *sync = {s->stream, s->index + 1};
        in_step = true;
        ++b.streamed;
      } else if (f.deflated) {
        copy = f.deflated->get(*f.payload, deflate->level);
      } else if (auto& own = b.own.emplace_back(); deflate_message(bytes, deflate->level, own)) {
        copy = own;
      }
      if (!copy.empty()) {
        // A message compressed on its own still goes into the client's window: the stream's next
        // messages would refer past it, so the client waits for a reset point. (A plain one does
        // not: RFC 7692 inflates only the messages with RSV1 set.)
        if (sync != nullptr && !in_step) sync->stream = 0;
        bytes = copy;
        compressed = true;
        ++b.compressed;
      }
    }
    b.wire.emplace_back(bytes, compressed);
    scratch_size += max_frame_header + (bytes.size() < copy_below ? bytes.size() : 0);
  }
  b.bytes.resize(scratch_size);
  b.buffers.clear();
  std::size_t total = 0;
  std::uint8_t* out = b.bytes.data();
  std::uint8_t const* segment = out; // the start of the scratch bytes not yet in `buffers`
  for (std::size_t i = 0; i < b.frames.size(); ++i) {
    auto const [bytes, compressed] = b.wire[i];
    out += encode_frame_header(out, bytes.size(), b.frames[i].binary, compressed);
    if (bytes.size() < copy_below) {
      if (!bytes.empty()) std::memcpy(out, bytes.data(), bytes.size());
      out += bytes.size();
    } else {
      b.buffers.emplace_back(segment, static_cast<std::size_t>(out - segment));
      b.buffers.emplace_back(bytes.data(), bytes.size());
      total += bytes.size();
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
