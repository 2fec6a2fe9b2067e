#pragma once
// An event's Server-Sent Events rendering (common/sse.hpp), made once per broadcast: the first
// event stream that sends the frame renders it, on its own thread and outside the room's lock,
// and every other stream of the room writes the same bytes, as WebSocket members share one
// payload. Only frames of a room with event streams carry one.

#include "common/sse.hpp"

#include <mutex>
#include <string>
#include <string_view>

namespace crier {

// Thread-safe.
class sse_cache {
public:
  // The SSE event for `json` (the payload this cache belongs to) with ids in `epoch`. Empty when
  // `json` is no crier.v1 event, or when the first stream to ask knew another epoch than this
  // caller (a room created anew under a stream): that caller renders its own.
  std::string_view get(std::string const& json, std::string_view epoch) const {
    std::call_once(once_, [&] {
      epoch_ = epoch;
      append_sse_event(bytes_, json, epoch);
    });
    return epoch == epoch_ ? std::string_view(bytes_) : std::string_view{};
  }

private:
  mutable std::once_flag once_;
  mutable std::string epoch_;
  mutable std::string bytes_;
};

} // namespace crier
