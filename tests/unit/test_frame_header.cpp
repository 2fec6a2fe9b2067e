// The writer frames batches itself, so its frame headers must be byte for byte the ones Beast
// writes for the same message (a server's frame: FIN, RSV1 only when compressed, unmasked, one
// frame per message). Beast's own header writer is the reference.
#include "server/session/frame_header.hpp"

#include <boost/beast/core/flat_static_buffer.hpp>
#include <boost/beast/websocket/detail/frame.hpp>
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>

namespace crier {
namespace {

namespace detail = boost::beast::websocket::detail;

std::string beast_header(std::uint64_t len, bool binary, bool compressed = false) {
  detail::frame_header fh{};
  fh.len = len;
  fh.key = 0;
  fh.op = binary ? detail::opcode::binary : detail::opcode::text;
  fh.fin = true;
  fh.mask = false;
  fh.rsv1 = compressed;
  fh.rsv2 = fh.rsv3 = false;
  detail::fh_buffer b;
  detail::write(b, fh);
  auto const data = b.data();
  return {static_cast<char const*>(data.data()), data.size()};
}

std::string crier_header(std::size_t len, bool binary, bool compressed = false) {
  std::array<std::uint8_t, max_frame_header> out{};
  auto const n = encode_frame_header(out.data(), len, binary, compressed);
  return {reinterpret_cast<char const*>(out.data()), n};
}

TEST(frame_header, matches_beast_at_every_length_boundary) {
  std::size_t const lengths[] = {0,       1,       124,        125,        126,     127,          255,
                                 256,     65534,   65535,      65536,      65537,   (1u << 24) - 1, 1u << 24,
                                 1u << 31, 0xffffffffu, std::size_t{1} << 40, (std::size_t{1} << 63) - 1};
  for (auto const len : lengths) {
    for (bool const binary : {false, true})
      for (bool const compressed : {false, true})
        EXPECT_EQ(crier_header(len, binary, compressed), beast_header(len, binary, compressed))
          << "length " << len << (binary ? " binary" : " text") << (compressed ? " compressed" : "");
  }
}

TEST(frame_header, uses_the_shortest_length_form) {
  EXPECT_EQ(crier_header(125, false).size(), 2u);
  EXPECT_EQ(crier_header(126, false).size(), 4u);
  EXPECT_EQ(crier_header(65535, true).size(), 4u);
  EXPECT_EQ(crier_header(65536, true).size(), 10u);
  EXPECT_EQ(static_cast<std::uint8_t>(crier_header(0, false)[0]), 0x81); // FIN + text
  EXPECT_EQ(static_cast<std::uint8_t>(crier_header(0, true)[0]), 0x82);  // FIN + binary
  EXPECT_EQ(static_cast<std::uint8_t>(crier_header(0, false, true)[0]), 0xC1); // FIN + RSV1 + text
}

} // namespace
} // namespace crier
