// The session's inbound policies on a clock the tests drive: the --rate-limit token bucket and
// the protocol-error window.
#include "server/session/inbound_policy.hpp"

#include <gtest/gtest.h>

namespace crier {
namespace {

using namespace std::chrono_literals;

inbound_clock::time_point const t0{};

TEST(token_bucket, a_full_bucket_admits_the_burst_then_refuses) {
  token_bucket b(3, t0);
  EXPECT_TRUE(b.take(1, 3, t0));
  EXPECT_TRUE(b.take(1, 3, t0));
  EXPECT_TRUE(b.take(1, 3, t0));
  EXPECT_FALSE(b.take(1, 3, t0));
}

TEST(token_bucket, refills_at_the_rate) {
  token_bucket b(1, t0);
  EXPECT_TRUE(b.take(2, 1, t0));
  EXPECT_FALSE(b.take(2, 1, t0 + 250ms)); // half a token
  EXPECT_TRUE(b.take(2, 1, t0 + 500ms));  // the other half: one whole token
  EXPECT_FALSE(b.take(2, 1, t0 + 500ms));
}

TEST(token_bucket, never_holds_more_than_the_burst) {
  token_bucket b(2, t0);
  auto const later = t0 + 1h; // a long silence earns no more than the burst
  EXPECT_TRUE(b.take(10, 2, later));
  EXPECT_TRUE(b.take(10, 2, later));
  EXPECT_FALSE(b.take(10, 2, later));
}

TEST(token_bucket, a_refused_message_costs_nothing) {
  token_bucket b(1, t0);
  EXPECT_TRUE(b.take(1, 1, t0));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(b.take(1, 1, t0 + 100ms * i));
  EXPECT_TRUE(b.take(1, 1, t0 + 1s)); // the refusals did not push the next token back
}

TEST(error_window, ten_errors_within_a_minute_are_allowed_the_eleventh_is_not) {
  error_window w;
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(w.note(t0 + 1s * i)) << i;
  EXPECT_FALSE(w.note(t0 + 59s));
}

TEST(error_window, the_window_slides_with_the_last_ten_errors) {
  error_window w;
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(w.note(t0 + 1s * i));
  EXPECT_TRUE(w.note(t0 + 60s));  // a minute after the first of the ten
  EXPECT_TRUE(w.note(t0 + 61s));  // a minute after the second
  EXPECT_FALSE(w.note(t0 + 61s)); // the third was at 2s: within the minute
}

TEST(error_window, errors_spread_out_never_close) {
  error_window w;
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(w.note(t0 + 7s * i)) << i;
}

} // namespace
} // namespace crier
