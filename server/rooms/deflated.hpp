#pragma once
// permessage-deflate for what the server sends: a payload compressed once, whoever receives it.
//
// Two ways, both compressing each broadcast once for every recipient:
// - On its own (deflate_cache): a message that never refers back to an earlier one is valid on
//   every connection that took the extension, so the room shares its compressed bytes just as it
//   shares the plain ones. The compression is lazy: the first writer that sends the frame to a
//   member with deflate makes it, on its own thread and outside the room's lock; the others, and
//   any later replay of the same history entry, reuse it.
// - As a stream (deflate_context): in a room with many members that let the server keep its
//   context (no server_no_context_takeover), the room compresses its broadcasts of one wire
//   format as one DEFLATE stream, in order, under its lock, so that a chat message can refer to
//   the words of the ones before it (a third fewer bytes on chat JSON). Every such member whose
//   client inflated the same sequence of the stream's messages can inflate the next one; the
//   writer knows (deflate_sync) and sends a member that missed one (it joined later, its queue
//   dropped one, it got a compressed reply of its own) the message compressed on its own instead,
//   until the stream's next reset point, a message compressed from an empty window.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace crier {

// Compresses `in` as one permessage-deflate message (RFC 7692 section 7.2.1: raw DEFLATE with no
// context, the trailing 0x00 0x00 0xff 0xff of the final sync flush removed) into `out`. Returns
// false, leaving `out` empty, when the result would not be smaller than `in`: such a message is
// better sent plain.
bool deflate_message(std::string_view in, int level, std::string& out);

// How many messages deflate_message has compressed since the process started: once per broadcast
// and format, which the tests check, and what an operator sees as the compression's CPU.
std::uint64_t deflate_compressions() noexcept;

// One broadcast as the next message of a room's compression stream.
struct streamed_deflate {
  std::string bytes;        // compressed, the sync flush's trailing 0x00 0x00 0xff 0xff removed
  std::uint64_t stream = 0; // the stream, unique in the process
  std::uint64_t index = 0;  // its place in the stream: the messages before it are index - 1, ...
  bool reset = false;       // compressed from an empty window: any client can inflate it
};

// The compressed copies of one shared payload: on its own, made on first use, and, when the room
// compressed it into its stream, that one, made before the frame went to anybody. One object, so
// that a frame carries one pointer for both to every recipient. Thread-safe.
class deflate_cache {
public:
  deflate_cache() = default;
  explicit deflate_cache(streamed_deflate streamed) : streamed_(std::move(streamed)) {}

  // Its place in the room's compression stream; null when it is not in one.
  streamed_deflate const* streamed() const noexcept { return streamed_ ? &*streamed_ : nullptr; }

  // The compressed bytes of `plain` (the payload this cache belongs to), or an empty view when
  // compressing does not make it smaller. `level` is the same for every caller (the server's
  // --compression-level).
  std::string_view get(std::string const& plain, int level) const {
    std::call_once(once_, [&] { deflate_message(plain, level, bytes_); });
    return bytes_;
  }

private:
  std::optional<streamed_deflate> const streamed_;
  mutable std::once_flag once_;
  mutable std::string bytes_;
};

// A room's compression stream for one wire format. Not thread-safe: the room uses it under its lock.
class deflate_context {
public:
  // The stream's window is 15 bits, the most a client can be asked to keep, and what clients
  // that do not limit it keep anyway; memLevel 8. About 256 KiB, allocated on the first message.
  // On the benchmark's chat JSON at level 1 (bench/chat_payload), bytes ÷ plain: 0.504 with
  // memLevel 6 and a reset every 256 messages, 0.491 with these; every message on its own, 0.71.
  static constexpr int window_bits = 15;
  static constexpr int mem_level = 8;
  // A reset point at most every this many messages, so that a member who fell out of step gets
  // back in; and, once a member that can follow joined, after this many, so that it gets in soon.
  static constexpr std::uint64_t reset_every = 1024;
  static constexpr std::uint64_t reset_after_join = 32;

  explicit deflate_context(int level);
  ~deflate_context();
  deflate_context(deflate_context const&) = delete;
  deflate_context& operator=(deflate_context const&) = delete;

  // Compresses `payload` as the stream's next message (after a reset when one is due).
  streamed_deflate compress(std::string_view payload);
  // A member that can follow the stream joined: it can, from the next reset point on.
  void joined() noexcept { joined_ = true; }

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::uint64_t const id_;
  std::uint64_t index_ = 0;
  std::uint64_t since_reset_ = 0;
  bool joined_ = false;
};

// What a session knows of its client's inflater: which room stream it follows and the index of
// the message it can inflate next. stream == 0: none (it can inflate only a reset point).
struct deflate_sync {
  std::uint64_t stream = 0;
  std::uint64_t next = 0;
};

} // namespace crier
