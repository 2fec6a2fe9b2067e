#include "bench/chat_payload.hpp"

#include <gtest/gtest.h>

#include <set>

namespace crier::bench {
namespace {

TEST(ChatPayload, MessagesAreJsonOfWordsWithinTheSizeBounds) {
  chat_corpus const c;
  std::string m;
  std::size_t total = 0, n = 0;
  for (std::uint32_t sender = 0; sender < 40; ++sender) {
    for (std::uint64_t seq = 0; seq < 300; ++seq) {
      c.write(m, header{sender, seq, 0x0123456789abcdefULL + seq});
      ASSERT_GE(m.size(), chat_corpus::min_size) << m;
      ASSERT_LE(m.size(), chat_corpus::max_size) << m;
      ASSERT_TRUE(m.starts_with(R"({"id":")")) << m;
      ASSERT_TRUE(m.ends_with(R"("})")) << m;
      ASSERT_NE(m.find(R"(","text":")"), std::string::npos) << m;
      for (char ch : m) ASSERT_TRUE(ch >= 0x20 && ch < 0x7f && ch != '\\') << m;
      total += m.size();
      ++n;
    }
  }
  // Spread over the range, not piled at one end.
  auto const mean = static_cast<double>(total) / static_cast<double>(n);
  EXPECT_GT(mean, 190.0);
  EXPECT_LT(mean, 260.0);
}

TEST(ChatPayload, WriteThenCheckRoundTripsTheHeader) {
  chat_corpus const c;
  std::string m;
  header const h{7, 12345, 0xfedcba9876543210ULL};
  c.write(m, h);
  auto const got = c.check(m);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->sender, 7u);
  EXPECT_EQ(got->seq, 12345u);
  EXPECT_EQ(got->sent_ns, 0xfedcba9876543210ULL);
  EXPECT_EQ(c.user(7), c.user(7 + 32));
}

TEST(ChatPayload, CheckRejectsAnyChangedByteAndOtherLengths) {
  chat_corpus const c;
  std::string m;
  c.write(m, header{3, 99, 42});
  for (std::size_t i = 0; i < m.size(); ++i) {
    auto bad = m;
    bad[i] = bad[i] == 'x' ? 'y' : 'x';
    // A changed hex digit may still parse as another header; its text then no longer matches.
    EXPECT_FALSE(c.check(bad)) << "byte " << i << " changed: " << bad;
  }
  EXPECT_FALSE(c.check(m.substr(0, m.size() - 1)));
  EXPECT_FALSE(c.check(m + " "));
  EXPECT_FALSE(c.check(""));
  EXPECT_FALSE(c.check(make_payload(200)));
}

TEST(ChatPayload, DeterministicAndASenderDoesNotRepeatSoon) {
  chat_corpus const a, b;
  std::string ma, mb;
  for (std::uint64_t seq = 0; seq < 50; ++seq) {
    a.write(ma, header{1, seq, 5});
    b.write(mb, header{1, seq, 5});
    EXPECT_EQ(ma, mb);
  }
  std::set<std::size_t> seen;
  for (std::uint64_t seq = 0; seq < chat_corpus::text_count; ++seq) seen.insert(a.text_index(2, seq));
  EXPECT_EQ(seen.size(), chat_corpus::text_count);
  std::set<std::string_view> texts;
  for (std::uint64_t seq = 0; seq < chat_corpus::text_count; ++seq) texts.insert(a.text(2, seq));
  EXPECT_GT(texts.size(), chat_corpus::text_count - 8); // made at random: almost all different
}

} // namespace
} // namespace crier::bench
