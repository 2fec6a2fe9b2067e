#pragma once
// Follows the frame boundaries of the bytes a client sends, as they are read from the socket and
// before Beast parses them. It answers one question: has everything read so far been whole
// messages, ending exactly at the end of the last one? When it has, and the session has taken
// every one of those messages from Beast, Beast holds no unread bytes, and an idle connection can
// wait for readability on the bare socket instead of keeping a read pending inside Beast (whose
// operation chain and the coroutine around it cost more memory than the rest of the session).
//
// It parses only what it needs (RFC 6455 section 5.2: FIN, opcode, mask bit, length) and never
// judges: a frame Beast would refuse fails the connection in Beast, whatever the tracker thinks.

#include <boost/asio/buffer.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace crier {

class frame_tracker {
public:
  // Bytes read from the socket, in order.
  void consume(std::uint8_t const* p, std::size_t n) noexcept {
    while (n > 0) {
      if (remaining_ > 0) {
        auto const k = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, n));
        p += k;
        n -= k;
        remaining_ -= k;
        if (remaining_ == 0) frame_done();
        continue;
      }
      at_message_end_ = false;
      header_[header_len_++] = *p++;
      --n;
      if (header_len_ == 2) {
        auto const len7 = header_[1] & 0x7fu;
        header_need_ = static_cast<std::uint8_t>(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((header_[1] & 0x80u) != 0 ? 4 : 0));
      }
      if (header_len_ >= 2 && header_len_ == header_need_) header_done();
    }
  }

  template <class Buffers>
  void consume_buffers(Buffers const& buffers, std::size_t n) noexcept {
    for (auto it = boost::asio::buffer_sequence_begin(buffers); n > 0 && it != boost::asio::buffer_sequence_end(buffers);
         ++it) {
      boost::asio::const_buffer const b(*it);
      auto const k = std::min(n, b.size());
      consume(static_cast<std::uint8_t const*>(b.data()), k);
      n -= k;
    }
  }

  // How many messages have ended (a final data frame complete) in what was read.
  std::uint64_t messages() const noexcept { return messages_; }
  // True when what was read ends exactly where a message ended: no partial frame, no control
  // frame after it. True before anything is read.
  bool at_message_end() const noexcept { return at_message_end_; }

private:
  void header_done() noexcept {
    auto const len7 = header_[1] & 0x7fu;
    std::uint64_t len = len7;
    if (len7 == 126) len = (std::uint64_t{header_[2]} << 8) | header_[3];
    if (len7 == 127) {
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | header_[2 + i];
    }
    opcode_ = static_cast<std::uint8_t>(header_[0] & 0x0fu);
    fin_ = (header_[0] & 0x80u) != 0;
    header_len_ = 0;
    remaining_ = len;
    if (remaining_ == 0) frame_done();
  }

  void frame_done() noexcept {
    // Opcodes 0 (continuation), 1 (text) and 2 (binary) carry data; a final one ends a message.
    bool const ends_message = fin_ && opcode_ <= 2;
    if (ends_message) ++messages_;
    at_message_end_ = ends_message;
  }

  std::uint8_t header_[14] = {};
  std::uint8_t header_len_ = 0;
  std::uint8_t header_need_ = 2;
  std::uint8_t opcode_ = 0;
  bool fin_ = false;
  bool at_message_end_ = true;
  std::uint64_t remaining_ = 0;
  std::uint64_t messages_ = 0;
};

// When `p[0, n)` is one or more whole pong frames from a client (final, no RSV bits, masked,
// at most 125 bytes of payload: what RFC 6455 allows a pong to be) and nothing else, returns n;
// otherwise 0. An idle session consumes such bytes itself: Beast's only response to a pong is
// the control callback, and the bytes end where the next message starts, so Beast's parse is
// unaffected. Anything else, including a pong followed by part of a message, is left to Beast.
inline std::size_t whole_pongs(std::uint8_t const* p, std::size_t n) noexcept {
  std::size_t at = 0;
  while (at < n) {
    if (n - at < 6 || p[at] != 0x8a || (p[at + 1] & 0x80u) == 0) return 0;
    std::size_t const len = p[at + 1] & 0x7fu;
    if (len > 125 || n - at < 6 + len) return 0;
    at += 6 + len;
  }
  return n;
}

} // namespace crier
