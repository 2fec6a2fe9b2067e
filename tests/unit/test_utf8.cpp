// UTF-8 validation: the byte ranges of RFC 3629 section 4, at and just past each boundary.
#include "common/utf8.hpp"

#include <gtest/gtest.h>

#include <string>

namespace crier {
namespace {

TEST(utf8, accepts_well_formed_text) {
  for (std::string const s : {"", "plain ascii, long enough for the eight-byte fast path", "\xc2\x80", "\xdf\xbf",
                              "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
                              "\xf4\x8f\xbf\xbf", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5",
                              "01234567\xce\xb1" "89abcdef\xf0\x9f\x98\x80"})
    EXPECT_TRUE(is_valid_utf8(s)) << ::testing::PrintToString(s);
  EXPECT_TRUE(is_valid_utf8(std::string("nul \0 inside", 12)));
}

TEST(utf8, refuses_malformed_text) {
  for (std::string const s : {"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
                              "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xfe",
                              "\xc2", "\xe1\x80", "\xf1\x80\x80", "\xc2\x41", "\xe1\x80\x41", "\xf1\x80\x80\x41",
                              "abcdefgh\xce", "0123456789abcdef\x80"})
    EXPECT_FALSE(is_valid_utf8(s)) << ::testing::PrintToString(s);
}

TEST(utf8, a_sequence_cut_at_the_end_is_refused_wherever_the_text_ends) {
  std::string const smile = "\xf0\x9f\x98\x80";
  for (std::size_t prefix = 0; prefix < 20; ++prefix) {
    std::string const head(prefix, 'a');
    EXPECT_TRUE(is_valid_utf8(head + smile)) << prefix;
    for (std::size_t cut = 1; cut < smile.size(); ++cut)
      EXPECT_FALSE(is_valid_utf8(head + smile.substr(0, cut))) << prefix << " " << cut;
  }
}

// The reader trusts Beast's per-frame check and only asks whether the message ends on a whole
// sequence. For every prefix of valid text, that must agree with checking the whole prefix.
TEST(utf8, the_end_check_agrees_with_the_full_check_on_every_prefix_of_valid_text) {
  std::string const text = "a\xc2\x80" "b\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80" "cd\xf4\x8f\xbf\xbf"
                           "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5 0123456789\xf0\x9f\x98\x80";
  ASSERT_TRUE(is_valid_utf8(text));
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    auto const prefix = std::string_view(text).substr(0, cut);
    EXPECT_EQ(ends_in_complete_utf8(prefix), is_valid_utf8(prefix)) << cut;
  }
  EXPECT_TRUE(ends_in_complete_utf8(""));
}

TEST(utf8, replacing_invalid_bytes_gives_valid_text_and_keeps_valid_text) {
  EXPECT_EQ(replace_invalid_utf8("plain"), "plain");
  EXPECT_EQ(replace_invalid_utf8("J\xc3\xbcrgen"), "J\xc3\xbcrgen");
  EXPECT_EQ(replace_invalid_utf8("a\xffz"), "a\xef\xbf\xbdz");
  // A cut sequence, an overlong form and a surrogate: each byte that cannot start a sequence
  // becomes one U+FFFD, and decoding starts afresh after it.
  EXPECT_EQ(replace_invalid_utf8("x\xe2\x82"), "x\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(replace_invalid_utf8("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(replace_invalid_utf8("\xed\xa0\x80!"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!");
  for (std::string const s : {"\xff", "a\xe2\x82", "\xf4\x90\x80\x80", "\x80\x80", "ok\xce"})
    EXPECT_TRUE(is_valid_utf8(replace_invalid_utf8(s))) << s;
}

} // namespace
} // namespace crier
