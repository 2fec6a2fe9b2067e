#pragma once
// The frames one write sends, framed by the server itself: the headers and small payloads copied
// into one scratch buffer, large payloads sent from where they are shared, all in one gather list.

#include "server/rooms/frame.hpp"

#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace crier {

struct write_batch {
  std::vector<frame> frames;
  std::vector<std::uint8_t> bytes;
  std::vector<boost::asio::const_buffer> buffers;
  std::size_t payload_bytes = 0; // of `frames`, for outbound_queue::written()
};

// Frames `b.frames` into `b.bytes` and `b.buffers` for one gather write; returns the bytes to
// write. The vectors keep their capacity from one batch to the next.
std::size_t frame_batch(write_batch& b);

// Drops the first `written` bytes from the front of `b.buffers`: what a partial write sent.
void drop_written(write_batch& b, std::size_t written);

} // namespace crier
