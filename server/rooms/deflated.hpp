#pragma once
// permessage-deflate for what the server sends: a payload compressed once, whoever receives it.
//
// Every message is compressed on its own (the server always negotiates server_no_context_takeover),
// so the compressed bytes of one broadcast are valid on every connection that took the extension,
// and the room shares them just as it shares the plain bytes. The compression is lazy: the first
// writer that sends the frame to a member with deflate makes it, on its own thread and outside
// the room's lock; the others, and any later replay of the same history entry, reuse it.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
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

// The compressed copy of one shared payload, made on first use. Thread-safe.
class deflate_cache {
public:
  // The compressed bytes of `plain` (the payload this cache belongs to), or an empty view when
  // compressing does not make it smaller. `level` is the same for every caller (the server's
  // --compression-level).
  std::string_view get(std::string const& plain, int level) const {
    std::call_once(once_, [&] { deflate_message(plain, level, bytes_); });
    return bytes_;
  }

private:
  mutable std::once_flag once_;
  mutable std::string bytes_;
};

} // namespace crier
