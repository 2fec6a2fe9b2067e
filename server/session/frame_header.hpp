#pragma once
// The WebSocket frame header the server writes in front of each shared payload, so that the
// writer can send many messages in one write without Beast framing each one.

#include <cstddef>
#include <cstdint>

namespace crier {

// The longest header of an unmasked frame: 2 bytes, then a 64-bit length.
inline constexpr std::size_t max_frame_header = 10;

// Writes the RFC 6455 header of a server-to-client message sent as one frame: FIN set, RSV1 only
// on a message compressed with permessage-deflate (RFC 7692 section 6), text or binary,
// unmasked, the length in its shortest form. These are the bytes Beast writes for a message
// with auto-fragment off, so the writer can send many messages in one write without Beast
// framing each one (tests/unit/test_frame_header.cpp compares them with Beast's own header
// writer). Returns the header's length.
inline std::size_t encode_frame_header(std::uint8_t* out, std::size_t payload_size, bool binary,
                                       bool compressed = false) noexcept {
  out[0] = static_cast<std::uint8_t>(0x80u | (compressed ? 0x40u : 0u) | (binary ? 0x2u : 0x1u));
  if (payload_size < 126) {
    out[1] = static_cast<std::uint8_t>(payload_size);
    return 2;
  }
  if (payload_size <= 0xffff) {
    out[1] = 126;
    out[2] = static_cast<std::uint8_t>(payload_size >> 8);
    out[3] = static_cast<std::uint8_t>(payload_size);
    return 4;
  }
  out[1] = 127;
  auto const size = static_cast<std::uint64_t>(payload_size);
  for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<std::uint8_t>(size >> (56 - 8 * i));
  return 10;
}

} // namespace crier
