// permessage-deflate on the server's side: which offers are accepted and how they are answered
// (RFC 7692 section 7), and that what the server compresses inflates, with the client's window,
// to the same bytes.
#include "common/deflate_offer.hpp"
#include "server/rooms/deflated.hpp"
#include "tests/support/deflate_codec.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace crier {
namespace {

TEST(deflate_offer, answers) {
  struct row {
    char const* offer;
    char const* response; // empty: declined
  };
  for (auto const& r : std::initializer_list<row>{
         {"permessage-deflate", "permessage-deflate; server_no_context_takeover"},
         // Chromium, Node ws and Python websockets: the server may pick the client's window.
         {"permessage-deflate; client_max_window_bits",
          "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"},
         {"permessage-deflate; client_max_window_bits=15", "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"},
         {"permessage-deflate; client_max_window_bits=9", "permessage-deflate; server_no_context_takeover; client_max_window_bits=9"},
         // 8 bits: zlib compresses with 9 when asked for 8, so the server keeps its full window.
         {"permessage-deflate; client_max_window_bits=8", "permessage-deflate; server_no_context_takeover"},
         {"permessage-deflate; server_max_window_bits=8",
          "permessage-deflate; server_no_context_takeover; server_max_window_bits=8"},
         {"permessage-deflate; server_max_window_bits=12; server_no_context_takeover; client_no_context_takeover",
          "permessage-deflate; server_no_context_takeover; server_max_window_bits=12; client_no_context_takeover"},
         {"PerMessage-Deflate ; Client_Max_Window_Bits = \"12\"",
          "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"},
         // The first acceptable offer wins; others and other extensions are skipped.
         {"x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=10",
          "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"},
         {"permessage-deflate; foo, permessage-deflate; client_no_context_takeover",
          "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
         {", ,permessage-deflate,", "permessage-deflate; server_no_context_takeover"},
         // Declined (RFC 7692 section 5: unknown, repeated, missing or invalid values).
         {"permessage-deflate; server_max_window_bits", ""},
         {"permessage-deflate; server_max_window_bits=7", ""},
         {"permessage-deflate; server_max_window_bits=16", ""},
         {"permessage-deflate; server_max_window_bits=010", ""},
         {"permessage-deflate; client_max_window_bits=1a", ""},
         {"permessage-deflate; client_max_window_bits; client_max_window_bits", ""},
         {"permessage-deflate; server_no_context_takeover=1", ""},
         {"permessage-deflate; client_no_context_takeover; client_no_context_takeover", ""},
         {"permessage-deflate; mystery=1", ""},
         {"x-webkit-deflate-frame", ""},
         // A syntax error declines everything, even an acceptable offer before it.
         {"permessage-deflate, permessage-deflate; =", ""},
         {"permessage-deflate; client_max_window_bits=\"12", ""},
         {"permessage-deflate;", ""},
         {"", ""},
       }) {
    SCOPED_TRACE(r.offer);
    auto const a = negotiate_deflate(r.offer);
    EXPECT_EQ(a.accepted, *r.response != '\0');
    EXPECT_EQ(a.response, r.response);
  }
}

TEST(deflate_offer, records_the_windows) {
  auto const a = negotiate_deflate("permessage-deflate; server_max_window_bits=9; client_max_window_bits=11");
  ASSERT_TRUE(a.accepted);
  EXPECT_EQ(a.server_max_window_bits, 9);
  EXPECT_EQ(a.client_max_window_bits, 10);
  EXPECT_FALSE(a.client_no_context_takeover);
  auto const b = negotiate_deflate("permessage-deflate");
  EXPECT_EQ(b.server_max_window_bits, 15);
  EXPECT_EQ(b.client_max_window_bits, 15);
}

using test::chat_line;
using test::inflate_message;

std::string chat(std::size_t n) {
  std::string s = R"({"type":"message","text":")";
  char const* words[] = {"the ", "crier ", "announces ", "to ", "everyone ", "in ", "square ", "lobby "};
  for (std::size_t i = 0; s.size() < n; ++i) s += words[(i * 7 + i / 3) % 8];
  return s + "\"}";
}

TEST(deflate_message, round_trips_smaller) {
  for (std::size_t n : {128u, 300u, 4000u, 70000u}) {
    auto const plain = chat(n);
    std::string compressed;
    ASSERT_TRUE(deflate_message(plain, 1, compressed)) << n;
    // Words compress several times over once there are a few hundred bytes of them.
    EXPECT_LT(compressed.size(), n >= 300 ? plain.size() / 2 : plain.size()) << n;
    EXPECT_EQ(inflate_message(compressed, 15), plain) << n;
  }
}

TEST(deflate_message, a_message_inflates_with_any_window_that_holds_it) {
  // Compressed without context, a message refers back at most its own length: a client with an
  // 8-bit window inflates any message of up to 256 bytes that the server compressed once for all.
  auto const plain = chat(250);
  ASSERT_LE(plain.size(), 256u);
  std::string compressed;
  ASSERT_TRUE(deflate_message(plain, 9, compressed));
  for (int bits : {8, 9, 12, 15}) EXPECT_EQ(inflate_message(compressed, bits), plain) << bits;
}

TEST(deflate_message, incompressible_goes_plain) {
  std::string noise;
  std::uint32_t x = 12345;
  for (int i = 0; i < 200; ++i) {
    x = x * 1103515245 + 12345;
    noise += static_cast<char>(x >> 24);
  }
  std::string out = "stale";
  EXPECT_FALSE(deflate_message(noise, 1, out));
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(deflate_message("", 1, out));
}

TEST(deflate_cache, compresses_once) {
  auto const plain = chat(500);
  deflate_cache cache;
  auto const before = deflate_compressions();
  auto const first = cache.get(plain, 1);
  auto const second = cache.get(plain, 1);
  EXPECT_EQ(deflate_compressions(), before + 1);
  EXPECT_EQ(first.data(), second.data());
  EXPECT_EQ(inflate_message(std::string(first), 15), plain);
}

TEST(deflate_offer, keeps_the_servers_context_unless_the_client_asks_not_to) {
  auto const kept = negotiate_deflate("permessage-deflate; client_max_window_bits", true);
  ASSERT_TRUE(kept.accepted);
  EXPECT_TRUE(kept.server_context_takeover);
  EXPECT_EQ(kept.response, "permessage-deflate; client_max_window_bits=10");
  auto const asked = negotiate_deflate("permessage-deflate; server_no_context_takeover", true);
  EXPECT_FALSE(asked.server_context_takeover);
  EXPECT_EQ(asked.response, "permessage-deflate; server_no_context_takeover");
  auto const bits = negotiate_deflate("permessage-deflate; server_max_window_bits=12", true);
  EXPECT_TRUE(bits.server_context_takeover);
  EXPECT_EQ(bits.response, "permessage-deflate; server_max_window_bits=12");
  auto const alone = negotiate_deflate("permessage-deflate", false);
  EXPECT_FALSE(alone.server_context_takeover);
  EXPECT_EQ(alone.response, "permessage-deflate; server_no_context_takeover");
}

TEST(deflate_context, a_client_in_step_inflates_every_message_and_the_stream_is_smaller) {
  deflate_context ctx(1);
  test::context_inflater client;
  std::size_t plain_bytes = 0, stream_bytes = 0, alone_bytes = 0;
  auto const before = deflate_compressions();
  for (std::size_t i = 0; i < 600; ++i) {
    auto const plain = chat_line(i);
    auto const s = ctx.compress(plain);
    ASSERT_EQ(s.index, i);
    EXPECT_EQ(s.reset, i % deflate_context::reset_every == 0) << i;
    EXPECT_EQ(client.inflate(s.bytes), plain) << i;
    std::string alone;
    ASSERT_TRUE(deflate_message(plain, 1, alone));
    plain_bytes += plain.size();
    stream_bytes += s.bytes.size();
    alone_bytes += alone.size();
  }
  EXPECT_EQ(deflate_compressions(), before + 600 * 2); // each stream message, and each alone above
  // Each message refers to the words of the ones before: far fewer bytes than each on its own.
  EXPECT_LT(stream_bytes * 10, alone_bytes * 6) << stream_bytes << " vs " << alone_bytes << " of " << plain_bytes;
}

TEST(deflate_context, a_message_between_reset_points_needs_the_window_and_a_reset_point_does_not) {
  deflate_context ctx(1);
  std::vector<streamed_deflate> stream;
  for (std::size_t i = 0; i < deflate_context::reset_every + 2; ++i) stream.push_back(ctx.compress(chat_line(i)));
  // A fresh inflater (a client that joined now) cannot read message 5: it refers to 0-4.
  test::context_inflater probe;
  auto const wrong = probe.inflate(stream[5].bytes);
  EXPECT_TRUE(!wrong || *wrong != chat_line(5));
  // A client whose window holds something else (a message compressed on its own) can read the
  // next reset point, and the messages after it.
  test::context_inflater late;
  std::string alone;
  ASSERT_TRUE(deflate_message(chat_line(77), 1, alone));
  EXPECT_EQ(late.inflate(alone), chat_line(77));
  auto const& reset = stream[deflate_context::reset_every];
  ASSERT_TRUE(reset.reset);
  EXPECT_EQ(late.inflate(reset.bytes), chat_line(deflate_context::reset_every));
  EXPECT_EQ(late.inflate(stream.back().bytes), chat_line(deflate_context::reset_every + 1));
  EXPECT_NE(stream[0].stream, deflate_context(1).compress("x").stream) << "every stream has its own id";
}

TEST(deflate_context, a_join_brings_the_next_reset_point_closer) {
  deflate_context ctx(1);
  for (std::size_t i = 0; i < 10; ++i) ctx.compress(chat_line(i));
  ctx.joined();
  std::size_t i = 10;
  // Not before reset_after_join messages since the last reset point (message 0)...
  for (; i < deflate_context::reset_after_join; ++i) EXPECT_FALSE(ctx.compress(chat_line(i)).reset) << i;
  // ...then at once, and the regular rhythm starts from there.
  EXPECT_TRUE(ctx.compress(chat_line(i++)).reset);
  for (; i < deflate_context::reset_after_join + deflate_context::reset_every; ++i)
    EXPECT_FALSE(ctx.compress(chat_line(i)).reset) << i;
  EXPECT_TRUE(ctx.compress(chat_line(i)).reset);
}

} // namespace
} // namespace crier
