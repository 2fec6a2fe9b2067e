// The history ring and the resume arithmetic.
#include "server/rooms/history.hpp"

#include <gtest/gtest.h>

namespace crier {
namespace {

history_ring filled(std::size_t capacity, std::uint64_t count) {
  history_ring ring(capacity);
  for (std::uint64_t s = 1; s <= count; ++s)
    ring.push({s, 0, {}, std::make_shared<std::string const>(std::to_string(s)), nullptr});
  return ring;
}

std::vector<std::uint64_t> seqs(std::vector<history_entry const*> const& entries) {
  std::vector<std::uint64_t> out;
  for (auto const* e : entries) out.push_back(e->seq);
  return out;
}

TEST(history_ring, keeps_the_last_n_in_order) {
  auto const ring = filled(4, 10);
  EXPECT_EQ(ring.size(), 4U);
  EXPECT_EQ(ring.oldest_seq(), 7U);
  EXPECT_EQ(seqs(ring.after(0)), (std::vector<std::uint64_t>{7, 8, 9, 10}));
}

TEST(history_ring, before_it_fills) {
  auto const ring = filled(100, 3);
  EXPECT_EQ(ring.oldest_seq(), 1U);
  EXPECT_EQ(seqs(ring.after(1)), (std::vector<std::uint64_t>{2, 3}));
  EXPECT_TRUE(ring.after(3).empty());
  EXPECT_TRUE(ring.after(99).empty());
}

TEST(history_ring, zero_capacity_keeps_nothing) {
  auto const ring = filled(0, 5);
  EXPECT_EQ(ring.size(), 0U);
  EXPECT_FALSE(ring.oldest_seq());
  EXPECT_TRUE(ring.after(0).empty());
  EXPECT_TRUE(ring.before(10, 5).empty());
}

TEST(history_ring, after_a_seq_that_left_the_ring_gives_all_it_has) {
  auto const ring = filled(4, 10);
  EXPECT_EQ(seqs(ring.after(2)), (std::vector<std::uint64_t>{7, 8, 9, 10}));
  EXPECT_EQ(seqs(ring.after(8)), (std::vector<std::uint64_t>{9, 10}));
}

TEST(history_ring, pages_backwards) {
  auto const ring = filled(10, 25); // holds 16..25
  EXPECT_EQ(seqs(ring.before(26, 3)), (std::vector<std::uint64_t>{23, 24, 25}));
  EXPECT_EQ(seqs(ring.before(23, 3)), (std::vector<std::uint64_t>{20, 21, 22}));
  EXPECT_EQ(seqs(ring.before(18, 5)), (std::vector<std::uint64_t>{16, 17}));
  EXPECT_TRUE(ring.before(16, 5).empty());
  EXPECT_TRUE(ring.before(3, 5).empty());
  EXPECT_EQ(seqs(ring.before(1000, 2)), (std::vector<std::uint64_t>{24, 25}));
  EXPECT_TRUE(ring.before(26, 0).empty());
}

TEST(history_ring, seqs_with_gaps_are_found_by_value) {
  // A cluster node may skip a seq it never received.
  history_ring ring(4);
  for (std::uint64_t s : {2U, 3U, 7U, 9U, 12U})
    ring.push({s, 0, {}, std::make_shared<std::string const>(std::to_string(s)), nullptr});
  EXPECT_EQ(seqs(ring.after(0)), (std::vector<std::uint64_t>{3, 7, 9, 12}));
  EXPECT_EQ(seqs(ring.after(3)), (std::vector<std::uint64_t>{7, 9, 12}));
  EXPECT_EQ(seqs(ring.after(5)), (std::vector<std::uint64_t>{7, 9, 12}));
  EXPECT_EQ(seqs(ring.after(12)), (std::vector<std::uint64_t>{}));
  EXPECT_EQ(seqs(ring.before(9, 10)), (std::vector<std::uint64_t>{3, 7}));
  EXPECT_EQ(seqs(ring.before(10, 1)), (std::vector<std::uint64_t>{9}));
  EXPECT_EQ(seqs(ring.before(3, 10)), (std::vector<std::uint64_t>{}));
  ring.clear();
  EXPECT_EQ(ring.size(), 0U);
}

TEST(resume, arithmetic) {
  // Nothing missed.
  EXPECT_TRUE(resume_is_complete(10, 10, 1));
  EXPECT_TRUE(resume_is_complete(10, 10, std::nullopt)); // history off, but nothing to replay
  // Missed 8..10, all still in the ring.
  EXPECT_TRUE(resume_is_complete(7, 10, 1));
  EXPECT_TRUE(resume_is_complete(7, 10, 8)); // the ring starts exactly at the first missed
  // A gap: 8 left the ring.
  EXPECT_FALSE(resume_is_complete(7, 10, 9));
  EXPECT_FALSE(resume_is_complete(7, 10, std::nullopt));
  // From the very start.
  EXPECT_TRUE(resume_is_complete(0, 5, 1));
  EXPECT_FALSE(resume_is_complete(0, 5, 2));
  // A seq the room never reached (another life of the room).
  EXPECT_FALSE(resume_is_complete(11, 10, 1));
}

} // namespace
} // namespace crier
