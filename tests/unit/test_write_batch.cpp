// The writer's own framing of a batch: small payloads copied beside their headers into one
// buffer, large ones sent from where they are shared, and a partial write's bytes dropped from
// the front.
#include "server/session/write_batch.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

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

// A frame as a room with a compression stream fans it out: its place in the stream, and a place
// for its copy compressed on its own.
frame streamed_frame(std::string text, std::uint64_t stream, std::uint64_t index, bool reset) {
  frame f = make_frame(std::move(text), false);
  f.deflated =
    std::make_shared<deflate_cache const>(streamed_deflate{"S" + std::to_string(index), stream, index, reset});
  return f;
}

std::string text_of(std::size_t i) {
  std::string s = "message " + std::to_string(i);
  while (s.size() < 200) s += " of the room, the room, the room";
  return s;
}

TEST(write_batch, a_client_gets_the_stream_while_in_step_and_messages_on_their_own_until_the_next_reset) {
  deflate_sync sync;
  deflate_policy policy;
  policy.sync = &sync;
  auto sent = [&](std::vector<frame> frames) {
    write_batch b;
    b.frames = std::move(frames);
    frame_batch(b, &policy);
    std::vector<std::string> out;
    for (auto const& [bytes, compressed] : b.wire) {
      EXPECT_TRUE(compressed);
      out.emplace_back(bytes.starts_with("S") ? std::string(bytes) : "alone");
    }
    return out;
  };
  // Joined mid-stream: on their own until the reset point at 3, then the stream's.
  EXPECT_EQ(sent({streamed_frame(text_of(1), 7, 1, false), streamed_frame(text_of(2), 7, 2, false),
                  streamed_frame(text_of(3), 7, 3, true), streamed_frame(text_of(4), 7, 4, false)}),
            (std::vector<std::string>{"alone", "alone", "S3", "S4"}));
  EXPECT_EQ(sync.stream, 7U);
  EXPECT_EQ(sync.next, 5U);
  // Across batches; then a gap (its queue dropped 6): out of step until the next reset.
  EXPECT_EQ(sent({streamed_frame(text_of(5), 7, 5, false)}), (std::vector<std::string>{"S5"}));
  EXPECT_EQ(sent({streamed_frame(text_of(7), 7, 7, false), streamed_frame(text_of(8), 7, 8, false)}),
            (std::vector<std::string>{"alone", "alone"}));
  EXPECT_EQ(sync.stream, 0U);
  // A reply of its own, compressed, in the middle of the stream puts it out of step as well; a
  // small plain one does not (the client inflates only what has RSV1).
  EXPECT_EQ(sent({streamed_frame(text_of(9), 7, 9, true)}), (std::vector<std::string>{"S9"}));
  {
    write_batch b;
    policy.min_size = 10;
    b.frames = {make_frame("tiny", false), streamed_frame(text_of(10), 7, 10, false), make_frame(text_of(99), false),
                streamed_frame(text_of(11), 7, 11, false)};
    frame_batch(b, &policy);
    ASSERT_EQ(b.wire.size(), 4U);
    EXPECT_FALSE(b.wire[0].second);
    EXPECT_EQ(b.wire[1].first, "S10");
    EXPECT_TRUE(b.wire[2].second);
    EXPECT_NE(b.wire[3].first, "S11") << "after a compressed reply, the stream's next message would not inflate";
    EXPECT_EQ(sync.stream, 0U);
  }
  // Another room's stream (another id) is not this one.
  EXPECT_EQ(sent({streamed_frame(text_of(12), 8, 12, true), streamed_frame(text_of(13), 7, 13, false)}),
            (std::vector<std::string>{"S12", "alone"}));
}

TEST(write_batch, a_client_that_keeps_no_context_never_gets_the_stream) {
  deflate_policy policy; // no sync: server_no_context_takeover, or a window under the stream's
  write_batch b;
  b.frames = {streamed_frame(text_of(1), 7, 1, true), streamed_frame(text_of(2), 7, 2, false)};
  frame_batch(b, &policy);
  for (auto const& [bytes, compressed] : b.wire) {
    EXPECT_TRUE(compressed);
    EXPECT_FALSE(bytes.starts_with("S"));
  }
}

} // namespace
} // namespace crier
