// The frame tracker decides when an idle connection may stop reading through Beast, so it must
// find every frame boundary in a client's byte stream however the bytes are cut up by reads.
// Frames are encoded with Beast's own header writer (masked, as a client sends them) at every
// length-encoding boundary, with control frames and fragmented messages among them, and fed to
// the tracker byte by byte, whole, and in pseudo-random pieces.
#include "server/session/frame_tracker.hpp"

#include <boost/beast/websocket/detail/frame.hpp>
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace crier {
namespace {

namespace detail = boost::beast::websocket::detail;

struct sample_frame {
  detail::opcode op;
  bool fin;
  std::size_t len;
};

std::string encode(sample_frame const& f) {
  detail::frame_header fh{};
  fh.op = f.op;
  fh.fin = f.fin;
  fh.len = f.len;
  fh.mask = true;
  fh.key = 0x11223344;
  fh.rsv1 = fh.rsv2 = fh.rsv3 = false;
  detail::fh_buffer b;
  detail::write(b, fh);
  auto const data = b.data();
  std::string out(static_cast<char const*>(data.data()), data.size());
  out.append(f.len, 'x');
  return out;
}

struct stream {
  std::string bytes;
  // After each frame: where it ends, and what the tracker must say there.
  struct boundary {
    std::size_t end;
    std::uint64_t messages;
    bool at_message_end;
  };
  std::vector<boundary> boundaries;
};

stream make_stream() {
  using op = detail::opcode;
  std::vector<sample_frame> const frames = {
    {op::text, true, 0},      {op::text, true, 1},       {op::binary, true, 125},   {op::text, true, 126},
    {op::ping, true, 0},      {op::text, true, 65535},   {op::binary, true, 65536}, {op::pong, true, 125},
    {op::pong, true, 3},      {op::text, false, 10},     {op::ping, true, 4},       {op::cont, false, 0},
    {op::cont, true, 300},    {op::binary, false, 126},  {op::cont, true, 0},       {op::close, true, 2},
  };
  stream s;
  std::uint64_t messages = 0;
  for (auto const& f : frames) {
    s.bytes += encode(f);
    bool const ends = f.fin && (f.op == op::text || f.op == op::binary || f.op == op::cont);
    if (ends) ++messages;
    s.boundaries.push_back({s.bytes.size(), messages, ends});
  }
  return s;
}

// Feeds `s` in pieces no larger than `piece(...)`, checking the tracker at every frame end.
template <class Piece>
void feed(stream const& s, Piece piece) {
  frame_tracker t;
  EXPECT_TRUE(t.at_message_end()) << "nothing read yet";
  EXPECT_EQ(t.messages(), 0u);
  auto const* p = reinterpret_cast<std::uint8_t const*>(s.bytes.data());
  std::size_t at = 0;
  std::size_t next = 0; // the next boundary to reach
  while (at < s.bytes.size()) {
    // Never past the next boundary, so the state can be checked exactly there.
    auto const n = std::min(piece(), s.boundaries[next].end - at);
    t.consume(p + at, n);
    at += n;
    if (at == s.boundaries[next].end) {
      EXPECT_EQ(t.messages(), s.boundaries[next].messages) << "at frame " << next;
      EXPECT_EQ(t.at_message_end(), s.boundaries[next].at_message_end) << "at frame " << next;
      ++next;
    } else {
      EXPECT_FALSE(t.at_message_end()) << "inside frame " << next << " at byte " << at;
    }
  }
  EXPECT_EQ(next, s.boundaries.size());
}

TEST(frame_tracker, finds_every_boundary_byte_by_byte) {
  feed(make_stream(), [] { return std::size_t{1}; });
}

TEST(frame_tracker, finds_every_boundary_in_pieces_of_any_size) {
  auto const s = make_stream();
  for (std::size_t size : {2u, 3u, 5u, 13u, 14u, 1536u}) feed(s, [size] { return size; });
  std::mt19937 rng(42);
  for (int round = 0; round < 50; ++round) {
    std::uniform_int_distribution<std::size_t> size(1, 2000);
    feed(s, [&] { return size(rng); });
  }
}

TEST(frame_tracker, reads_that_span_several_frames) {
  auto const s = make_stream();
  frame_tracker t;
  t.consume(reinterpret_cast<std::uint8_t const*>(s.bytes.data()), s.bytes.size());
  EXPECT_EQ(t.messages(), s.boundaries.back().messages);
  EXPECT_FALSE(t.at_message_end()) << "the stream ends with a close frame";
  // Two whole messages in one read end at a message end.
  frame_tracker two;
  auto const bytes = encode({detail::opcode::text, true, 5}) + encode({detail::opcode::binary, true, 200});
  two.consume_buffers(boost::asio::buffer(bytes), bytes.size());
  EXPECT_EQ(two.messages(), 2u);
  EXPECT_TRUE(two.at_message_end());
}

TEST(whole_pongs, only_whole_masked_pongs_and_nothing_else) {
  auto const check = [](std::string const& bytes) {
    return whole_pongs(reinterpret_cast<std::uint8_t const*>(bytes.data()), bytes.size());
  };
  auto const pong0 = encode({detail::opcode::pong, true, 0});
  auto const pong125 = encode({detail::opcode::pong, true, 125});
  EXPECT_EQ(pong0.size(), 6u);
  EXPECT_EQ(check(pong0), 6u);
  EXPECT_EQ(check(pong125), pong125.size());
  EXPECT_EQ(check(pong0 + pong0), 12u);
  EXPECT_EQ(check(""), 0u);
  EXPECT_EQ(check(pong0.substr(0, 5)), 0u) << "part of a pong";
  EXPECT_EQ(check(pong0 + "\x81"), 0u) << "a pong and the start of a message";
  EXPECT_EQ(check(encode({detail::opcode::pong, false, 0})), 0u) << "a pong without FIN";
  EXPECT_EQ(check(encode({detail::opcode::ping, true, 0})), 0u) << "a ping needs an answer: Beast's";
  EXPECT_EQ(check(encode({detail::opcode::text, true, 0})), 0u);
  EXPECT_EQ(check(std::string("\x8a\x00", 2)), 0u) << "unmasked";
  std::string rsv = pong0;
  rsv[0] = static_cast<char>(0xca); // RSV1 set
  EXPECT_EQ(check(rsv), 0u);
  std::string long_len = encode({detail::opcode::pong, true, 126});
  EXPECT_EQ(check(long_len), 0u) << "a control frame of 126 bytes is a protocol error: Beast's to report";
}

} // namespace
} // namespace crier
