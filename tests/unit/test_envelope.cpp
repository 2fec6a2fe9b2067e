// The envelope nodes exchange through Redis: round trips with any bytes, the split the publish
// script joins around the seq, and malformed input refused.
#include "common/envelope.hpp"

#include <gtest/gtest.h>

namespace crier {
namespace {

TEST(envelope, round_trip_keeps_every_byte) {
  std::string payload("line one\nline two\0 with a nul and \xff\xfe", 36);
  envelope const e{envelope::kind::binary, 0, "0123456789abcdef", 1'700'000'000'123, {"a1b2c3", "Zoë the name"}, payload};
  auto const d = decode_envelope(encode(e));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->type, envelope::kind::binary);
  EXPECT_EQ(d->seq, 0U);
  EXPECT_EQ(d->node, e.node);
  EXPECT_EQ(d->ts, e.ts);
  EXPECT_EQ(d->from.id, e.from.id);
  EXPECT_EQ(d->from.name, e.from.name);
  EXPECT_EQ(d->payload, payload);
}

TEST(envelope, the_script_puts_the_seq_between_the_halves) {
  envelope const e{envelope::kind::text, 0, "n1", 5, {"id", "name with spaces 1 2"}, "hello 3 4\n"};
  auto const [head, tail] = encode_split(e);
  auto const d = decode_envelope(head + "18446744073709551615" + tail);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->type, envelope::kind::text);
  EXPECT_EQ(d->seq, 18446744073709551615ULL);
  EXPECT_EQ(d->from.name, "name with spaces 1 2");
  EXPECT_EQ(d->payload, "hello 3 4\n");
}

TEST(envelope, presence_has_no_payload) {
  envelope const e{envelope::kind::leave, 0, "n2", 9, {"x", ""}, {}};
  auto const d = decode_envelope(encode(e));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->type, envelope::kind::leave);
  EXPECT_EQ(d->from.id, "x");
  EXPECT_TRUE(d->from.name.empty());
  EXPECT_TRUE(d->payload.empty());
}

TEST(envelope, the_lua_scripts_format_decodes) {
  // What the sweep and sync scripts build by hand for a leave and a join.
  auto const d = decode_envelope("l 0 deadnode 1700000000000 3 7\nabc0:Alice");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->node, "deadnode");
  EXPECT_EQ(d->from.id, "abc");
  EXPECT_EQ(d->from.name, "Alice");
}

TEST(envelope, the_presence_scripts_fill_node_and_member_between_the_halves) {
  envelope const e{envelope::kind::join, 0, "n3", 1'700'000'000'000, {"abc", "Alice B"}, {}};
  auto const [before, after] = presence_split(e.type, e.ts);
  // As the sync and sweep scripts build it: the node, then the member's lengths and bytes.
  EXPECT_EQ(before + e.node + after + "3 9\n" + "abc" + member_label(e.from), encode(e));
  auto const [leave_before, leave_after] = presence_split(envelope::kind::leave, 1'700'000'000'000);
  EXPECT_EQ(leave_before + "deadnode" + leave_after + "3 7\nabc0:Alice", "l 0 deadnode 1700000000000 3 7\nabc0:Alice");
}

TEST(envelope, a_member_s_user_travels_in_its_label) {
  envelope const e{envelope::kind::text, 4, "n1", 5, {"id1", "Ann 12:3", "ann:42"}, "hi"};
  EXPECT_EQ(member_label(e.from), "6:ann:42Ann 12:3");
  auto const d = decode_envelope(encode(e));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->from.id, "id1");
  EXPECT_EQ(d->from.user, "ann:42");
  EXPECT_EQ(d->from.name, "Ann 12:3");
  EXPECT_EQ(d->payload, "hi");
  member_info m;
  EXPECT_TRUE(read_member_label("0:", m));
  EXPECT_TRUE(m.user.empty() && m.name.empty());
  for (std::string_view bad : {"", "Alice", ":Alice", "9:ann", "x:ann", "-1:a"}) EXPECT_FALSE(read_member_label(bad, m)) << bad;
}

TEST(envelope, malformed_is_refused) {
  for (std::string_view bad : {"", "t", "x 1 n 2 0 0\n", "t 1 n 2 0 0", "t a n 2 0 0\n", "t 1  2 0 0\n",
                               "t 1 n 2 9 0\nabc", "t 1 n 2 1 9\nab", "t -1 n 2 0 0\n", "t 1 n 2 0\n",
                               "t 1 n 2 1 0\na", "t 1 n 2 1 5\naAlice"})
    EXPECT_FALSE(decode_envelope(bad)) << bad;
}

} // namespace
} // namespace crier
