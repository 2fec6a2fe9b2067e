// The per-room reorder buffer: seq order out whatever order in, duplicates refused, gaps held
// until filled or skipped, and its bound.
#include "server/cluster/reorder_buffer.hpp"

#include <gtest/gtest.h>

namespace crier {
namespace {

sequenced_message msg(std::uint64_t seq) {
  return {seq, 0, {"id", "n"}, std::make_shared<std::string const>(std::to_string(seq))};
}

std::vector<std::uint64_t> seqs(std::vector<sequenced_message> const& v) {
  std::vector<std::uint64_t> out;
  for (auto const& m : v) out.push_back(m.seq);
  return out;
}

TEST(reorder_buffer, in_order_passes_straight_through) {
  reorder_buffer b(1);
  EXPECT_TRUE(b.add(msg(1)));
  EXPECT_EQ(seqs(b.take_ready()), (std::vector<std::uint64_t>{1}));
  EXPECT_TRUE(b.add(msg(2)));
  EXPECT_EQ(seqs(b.take_ready()), (std::vector<std::uint64_t>{2}));
  EXPECT_FALSE(b.waiting());
  EXPECT_EQ(b.next(), 3U);
}

TEST(reorder_buffer, early_messages_wait_for_the_missing_one) {
  reorder_buffer b(10);
  EXPECT_TRUE(b.add(msg(12)));
  EXPECT_TRUE(b.add(msg(11)));
  EXPECT_TRUE(b.take_ready().empty());
  EXPECT_TRUE(b.waiting());
  EXPECT_EQ(b.first_held(), 11U);
  EXPECT_TRUE(b.add(msg(10)));
  EXPECT_EQ(seqs(b.take_ready()), (std::vector<std::uint64_t>{10, 11, 12}));
  EXPECT_FALSE(b.waiting());
}

TEST(reorder_buffer, duplicates_and_old_seqs_are_refused) {
  reorder_buffer b(5);
  EXPECT_FALSE(b.add(msg(4)));
  EXPECT_TRUE(b.add(msg(6)));
  EXPECT_FALSE(b.add(msg(6)));
  EXPECT_TRUE(b.add(msg(5)));
  EXPECT_EQ(b.take_ready().size(), 2U);
  EXPECT_FALSE(b.add(msg(5)));
  EXPECT_FALSE(b.add(msg(6)));
}

TEST(reorder_buffer, a_gap_can_be_skipped) {
  reorder_buffer b(1);
  b.add(msg(4));
  b.add(msg(5));
  EXPECT_EQ(b.skip_gap(), 3U);
  EXPECT_EQ(seqs(b.take_ready()), (std::vector<std::uint64_t>{4, 5}));
  EXPECT_EQ(b.skip_gap(), 0U);
}

TEST(reorder_buffer, reset_drops_what_it_already_covers) {
  reorder_buffer b(1);
  b.add(msg(3));
  b.add(msg(7));
  b.reset(5);
  EXPECT_EQ(b.held(), 1U);
  EXPECT_EQ(b.first_held(), 7U);
  EXPECT_TRUE(b.holds(7));
  EXPECT_FALSE(b.holds(3));
  EXPECT_FALSE(b.add(msg(4)));
}

TEST(reorder_buffer, says_when_over_its_bound) {
  reorder_buffer b(1, 3);
  for (std::uint64_t s = 2; s <= 4; ++s) b.add(msg(s));
  EXPECT_FALSE(b.over_bound());
  b.add(msg(5));
  EXPECT_TRUE(b.over_bound());
}

} // namespace
} // namespace crier
