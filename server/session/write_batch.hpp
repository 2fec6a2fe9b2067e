#pragma once
// The frames one write sends, framed by the server itself: the headers and small payloads copied
// into one scratch buffer, large payloads sent from where they are shared, all in one gather list.
// For a session with permessage-deflate, each payload worth it goes out as its compressed copy:
// the room stream's when the client is in step with it, else the one compressed on its own.

#include "server/rooms/frame.hpp"

#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace crier {

// What a session that negotiated permessage-deflate sends compressed.
struct deflate_policy {
  std::size_t min_size = 0;        // smaller payloads go out plain (--compression-min-size)
  std::size_t max_size = SIZE_MAX; // so do larger ones: the client's window could not hold them
  int level = 1;                   // --compression-level
  // Where the session keeps what its client's inflater has seen of the room's stream; null when
  // the client did not let the server keep its context (every message then goes on its own).
  deflate_sync* sync = nullptr;
};

struct write_batch {
  std::vector<frame> frames;
  std::vector<std::uint8_t> bytes;
  std::vector<boost::asio::const_buffer> buffers;
  std::size_t payload_bytes = 0; // of `frames`, for outbound_queue::written()
  std::size_t compressed = 0;    // frames sent compressed
  std::size_t streamed = 0;      // of them, from the room's compression stream
  // The compressed copies of frames meant for this session alone (replies, welcomes): they have
  // no shared copy, and live here until the write is done.
  std::vector<std::string> own;
  std::vector<std::pair<std::string_view, bool>> wire; // each frame's bytes, and whether compressed
};

// Frames `b.frames` into `b.bytes` and `b.buffers` for one gather write, compressing where
// `deflate` says (null: the session did not negotiate it); returns the bytes to write. The
// vectors keep their capacity from one batch to the next.
std::size_t frame_batch(write_batch& b, deflate_policy const* deflate = nullptr);

// Drops the first `written` bytes from the front of `b.buffers`: what a partial write sent.
void drop_written(write_batch& b, std::size_t written);

} // namespace crier
