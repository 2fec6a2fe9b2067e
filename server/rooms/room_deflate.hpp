#pragma once
// A room's compression streams (deflated.hpp): one per wire format, kept while enough of the
// room's members can follow it, and what the room attaches to the frames it fans out.

#include "server/rooms/deflated.hpp"
#include "server/rooms/frame.hpp"

#include <array>
#include <cstddef>
#include <memory>

namespace crier {

class room_deflate {
public:
  // `level`: --compression-level. `min_members`: --compression-context-members, how many members
  // of one format that can follow a stream make it worth its memory (0: never). `min_size`:
  // smaller payloads go out plain and stay out of the stream.
  void configure(int level, std::size_t min_members, std::size_t min_size) noexcept {
    level_ = level;
    min_members_ = min_members;
    min_size_ = min_size;
  }

  // A member of format `format` (the index of its wire_format) that can follow a stream came or went.
  void joined(std::size_t format);
  void left(std::size_t format);

  // Compresses `f` into the stream of `format`, when there is one or enough members to start it,
  // and `f` is worth compressing: `f` then gets a deflate_cache with its place in the stream. Only
  // for a frame that every member of that format receives, in the room's order (a member who
  // misses one falls out of step until the next reset point), before anything else shares `f`'s cache.
  void attach(frame& f, std::size_t format);

private:
  struct per_format {
    std::size_t followers = 0;
    std::unique_ptr<deflate_context> context; // allocated on the first frame worth it
  };
  std::array<per_format, 2> formats_;
  int level_ = 1;
  std::size_t min_members_ = 0;
  std::size_t min_size_ = SIZE_MAX;
};

} // namespace crier
