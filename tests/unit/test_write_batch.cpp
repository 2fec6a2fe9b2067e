// The writer's own framing of a batch: small payloads copied beside their headers into one
// buffer, large ones sent from where they are shared, and a partial write's bytes dropped from
// the front.
#include "server/session/write_batch.hpp"

#include <gtest/gtest.h>

#include <string>

namespace crier {
namespace {

std::string gather(write_batch const& b) {
  std::string out;
  for (auto const& buf : b.buffers) out.append(static_cast<char const*>(buf.data()), buf.size());
  return out;
}

TEST(write_batch, small_frames_are_one_contiguous_buffer) {
  write_batch b;
  b.frames = {make_frame("hi", false), make_frame("yo", true)};
  EXPECT_EQ(frame_batch(b), 8U);
  ASSERT_EQ(b.buffers.size(), 1U);
  EXPECT_EQ(gather(b), std::string("\x81\x02hi\x82\x02yo", 8));
}

TEST(write_batch, a_large_payload_is_sent_from_where_it_is) {
  write_batch b;
  std::string const big(5000, 'x');
  b.frames = {make_frame("a", false), make_frame(big, false), make_frame("b", false)};
  EXPECT_EQ(frame_batch(b), 3 + 4 + 5000 + 3U);
  ASSERT_EQ(b.buffers.size(), 3U);
  EXPECT_EQ(b.buffers[1].data(), b.frames[1].payload->data()); // not copied
  EXPECT_EQ(gather(b), std::string("\x81\x01" "a" "\x81\x7e\x13\x88", 7) + big + std::string("\x81\x01" "b", 3));
}

TEST(write_batch, drop_written_leaves_what_the_socket_did_not_take) {
  write_batch b;
  std::string const big(5000, 'x');
  b.frames = {make_frame("a", false), make_frame(big, false), make_frame("b", false)};
  auto const total = frame_batch(b);
  auto const all = gather(b);
  drop_written(b, 2);
  EXPECT_EQ(gather(b), all.substr(2));
  drop_written(b, 5 + 4000); // into the large payload
  EXPECT_EQ(gather(b), all.substr(2 + 5 + 4000));
  drop_written(b, total - (2 + 5 + 4000));
  EXPECT_TRUE(b.buffers.empty());
}

} // namespace
} // namespace crier
