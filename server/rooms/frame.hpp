#pragma once
// One encoded message on its way out: an immutable payload shared by every recipient's queue, and
// beside it, when a recipient in the room took permessage-deflate, the place for its compressed
// copy (deflated.hpp) or its place in the room's compression stream, and when event streams are in the room, for its SSE rendering (sse_cache.hpp),
// shared the same way.

#include "server/rooms/deflated.hpp"
#include "server/rooms/sse_cache.hpp"

#include <cstddef>
#include <memory>
#include <string>

namespace crier {

struct frame {
  std::shared_ptr<std::string const> payload;
  bool binary = false;
  // Null when nobody who receives this frame compresses, or the payload is under the size worth
  // compressing; a writer with deflate then compresses a frame meant for it alone by itself.
  // With the frame's place in the room's compression stream, when it has one.
  std::shared_ptr<deflate_cache const> deflated = nullptr;
  // Null unless the room has event streams and this is a JSON event: the place for its SSE
  // rendering, shared by every stream like the payload.
  std::shared_ptr<sse_cache const> sse = nullptr;

  std::size_t size() const noexcept { return payload ? payload->size() : 0; }
};

inline frame make_frame(std::string data, bool binary) {
  return frame{std::make_shared<std::string const>(std::move(data)), binary};
}

} // namespace crier
