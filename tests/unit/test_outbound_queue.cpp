// The bounded outbound queue: batching, waking, and both overflow policies.
#include "server/session/outbound_queue.hpp"

#include <gtest/gtest.h>

namespace crier {
namespace {

frame text(std::size_t n) { return make_frame(std::string(n, 'a'), false); }

TEST(outbound_queue, an_idle_writer_is_woken_by_the_next_push_only) {
  outbound_queue q({});
  std::vector<frame> batch;
  close_request close;
  EXPECT_EQ(q.take(batch, close), outbound_queue::take_result::idle);
  EXPECT_TRUE(q.push(text(1)).wake);
  EXPECT_FALSE(q.push(text(1)).wake); // already woken: one wake per idle period, not per frame
  EXPECT_EQ(q.take(batch, close), outbound_queue::take_result::batch);
  EXPECT_EQ(batch.size(), 2U);
}

TEST(outbound_queue, the_push_past_half_a_bound_says_so_once) {
  // Of messages: the 6th of 10 takes what waits past half; bytes: 600 of 1,000.
  outbound_queue by_count({.max_bytes = 1000, .max_messages = 10, .policy = overflow_policy::close});
  for (int i = 1; i <= 8; ++i) EXPECT_EQ(by_count.push(text(1)).filling, i == 6) << i;
  outbound_queue by_bytes({.max_bytes = 1000, .max_messages = 10, .policy = overflow_policy::close});
  EXPECT_FALSE(by_bytes.push(text(400)).filling);
  EXPECT_TRUE(by_bytes.push(text(200)).filling);
  EXPECT_FALSE(by_bytes.push(text(100)).filling);
  // Taken and written, the queue is below half again, and the next push past it says so again.
  std::vector<frame> batch;
  close_request close;
  ASSERT_EQ(by_bytes.take(batch, close), outbound_queue::take_result::batch);
  by_bytes.written(700);
  EXPECT_FALSE(by_bytes.push(text(400)).filling);
  EXPECT_TRUE(by_bytes.push(text(200)).filling);
}

TEST(outbound_queue, counts_bytes_until_written) {
  outbound_queue q({});
  q.push(text(10));
  q.push(text(20));
  EXPECT_EQ(q.bytes(), 30U);
  std::vector<frame> batch;
  close_request close;
  ASSERT_EQ(q.take(batch, close), outbound_queue::take_result::batch);
  EXPECT_EQ(q.bytes(), 30U); // still held while the writer sends them
  q.written(30);
  EXPECT_EQ(q.bytes(), 0U);
}

// The writer that keeps up gives a batch's bytes back with its next take: the same accounting
// as written(), and the message bound counts nothing as in flight once it is given back.
TEST(outbound_queue, the_next_take_gives_back_what_was_written) {
  outbound_queue q({.max_bytes = 1000, .max_messages = 2, .policy = overflow_policy::close});
  std::vector<frame> batch;
  close_request close;
  q.push(text(10));
  q.push(text(20));
  ASSERT_EQ(q.take(batch, close), outbound_queue::take_result::batch);
  batch.clear();
  q.push(text(5));
  ASSERT_EQ(q.take(batch, close, 30), outbound_queue::take_result::batch);
  EXPECT_EQ(q.bytes(), 5U); // the 30 given back, the 5 taken and held
  batch.clear();
  EXPECT_EQ(q.take(batch, close, 5), outbound_queue::take_result::idle);
  EXPECT_EQ(q.bytes(), 0U);
  // Nothing in flight any more: two frames fit the bound of two again.
  EXPECT_FALSE(q.push(text(1)).overflowed);
  EXPECT_FALSE(q.push(text(1)).overflowed);
  EXPECT_TRUE(q.push(text(1)).overflowed);
}

TEST(outbound_queue, close_policy_closes_with_1008_and_discards_what_was_queued) {
  outbound_queue q({.max_bytes = 100, .max_messages = 10, .policy = overflow_policy::close});
  std::vector<frame> batch;
  close_request close;
  EXPECT_EQ(q.take(batch, close), outbound_queue::take_result::idle);
  EXPECT_FALSE(q.push(text(60)).overflowed);
  auto r = q.push(text(60));
  EXPECT_TRUE(r.overflowed);
  EXPECT_TRUE(q.discarding());
  EXPECT_FALSE(q.push(text(1)).overflowed); // after the decision, pushes are ignored
  ASSERT_EQ(q.take(batch, close), outbound_queue::take_result::close);
  EXPECT_EQ(close.code, 1008);
  EXPECT_EQ(close.reason, "slow consumer");
  EXPECT_EQ(q.bytes(), 0U);
  EXPECT_EQ(q.take(batch, close), outbound_queue::take_result::stop);
}

TEST(outbound_queue, message_bound_applies_too) {
  outbound_queue q({.max_bytes = 1 << 20, .max_messages = 3, .policy = overflow_policy::close});
  EXPECT_FALSE(q.push(text(1)).overflowed);
  EXPECT_FALSE(q.push(text(1)).overflowed);
  EXPECT_FALSE(q.push(text(1)).overflowed);
  EXPECT_TRUE(q.push(text(1)).overflowed);
}

TEST(outbound_queue, drop_oldest_keeps_the_newest_within_bounds) {
  outbound_queue q({.max_bytes = 1 << 20, .max_messages = 3, .policy = overflow_policy::drop_oldest});
  for (char c : std::string("abcde")) q.push(make_frame(std::string(1, c), false));
  EXPECT_EQ(q.dropped_total(), 2U);
  std::vector<frame> batch;
  close_request close;
  ASSERT_EQ(q.take(batch, close), outbound_queue::take_result::batch);
  ASSERT_EQ(batch.size(), 3U);
  EXPECT_EQ(*batch[0].payload, "c");
  EXPECT_EQ(*batch[2].payload, "e");
}

TEST(outbound_queue, drop_oldest_empties_the_queue_for_a_frame_larger_than_the_whole_bound) {
  // Before, the big frame was dropped too, so a member could never receive a message over
  // --max-queue-bytes. An empty queue takes any one message; the bound is on what waits.
  outbound_queue q({.max_bytes = 10, .max_messages = 10, .policy = overflow_policy::drop_oldest});
  q.push(text(5));
  auto r = q.push(text(50));
  EXPECT_EQ(r.dropped, 1U);
  EXPECT_EQ(q.bytes(), 50U);
}

TEST(outbound_queue, an_empty_queue_takes_one_message_of_any_size_under_either_policy) {
  for (auto policy : {overflow_policy::close, overflow_policy::drop_oldest}) {
    outbound_queue q({.max_bytes = 10, .max_messages = 1, .policy = policy});
    auto r = q.push(text(1000));
    EXPECT_FALSE(r.overflowed);
    EXPECT_EQ(r.dropped, 0U);
    EXPECT_EQ(q.bytes(), 1000U);
    // Behind it, the bound applies again.
    r = q.push(text(1));
    EXPECT_EQ(r.overflowed, policy == overflow_policy::close);
    if (policy == overflow_policy::drop_oldest) {
      EXPECT_EQ(r.dropped, 1U); // the big one made room for the small one
      EXPECT_EQ(q.bytes(), 1U);
      // Once the writer has it in flight, nothing waits: the next big one is taken too.
      std::vector<frame> batch;
      close_request close;
      ASSERT_EQ(q.take(batch, close), outbound_queue::take_result::batch);
      r = q.push(text(1000));
      EXPECT_EQ(r.dropped, 0U);
      EXPECT_EQ(q.bytes(), 1001U); // in flight, and waiting
    }
  }
}

TEST(outbound_queue, graceful_close_sends_what_is_queued_first) {
  outbound_queue q({});
  q.push(text(3));
  auto const r = q.request_close({1001, "going away"}, false);
  EXPECT_TRUE(r.decided);
  EXPECT_FALSE(r.wake); // writer not idle: no wake needed
  EXPECT_FALSE(q.request_close({1000, "again"}, false).decided); // the first decision stands
  std::vector<frame> batch;
  close_request close;
  ASSERT_EQ(q.take(batch, close), outbound_queue::take_result::batch);
  q.written(3);
  ASSERT_EQ(q.take(batch, close), outbound_queue::take_result::close);
  EXPECT_EQ(close.code, 1001);
}

TEST(outbound_queue, stop_wakes_an_idle_writer_and_ends_it) {
  outbound_queue q({});
  std::vector<frame> batch;
  close_request close;
  EXPECT_EQ(q.take(batch, close), outbound_queue::take_result::idle);
  EXPECT_TRUE(q.stop());
  EXPECT_EQ(q.take(batch, close), outbound_queue::take_result::stop);
  EXPECT_FALSE(q.push(text(1)).wake);
}

} // namespace
} // namespace crier
