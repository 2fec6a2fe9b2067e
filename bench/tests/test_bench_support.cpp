#include "bench/bench_support.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

namespace crier::bench {
namespace {

TEST(Payload, HeaderRoundTripsAndKeepsSizeAndPadding) {
  auto p = make_payload(64);
  ASSERT_EQ(p.size(), 64u);
  write_header(p.data(), header{0xdeadbeef, 0x0123456789abcdefULL, 0xfedcba9876543210ULL});
  auto const h = read_header(p);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->sender, 0xdeadbeefu);
  EXPECT_EQ(h->seq, 0x0123456789abcdefULL);
  EXPECT_EQ(h->sent_ns, 0xfedcba9876543210ULL);
  EXPECT_EQ(p.size(), 64u);
  EXPECT_EQ(p.substr(header_size), std::string(64 - header_size, padding_char));
  for (char c : p) EXPECT_LT(static_cast<unsigned char>(c), 0x80) << "payload must be ASCII (valid text)";
}

TEST(Payload, ShortOrNonHexIsRejected) {
  EXPECT_FALSE(read_header("0123"));
  auto p = make_payload(48);
  p[10] = 'g';
  EXPECT_FALSE(read_header(p));
  EXPECT_EQ(make_payload(1).size(), header_size);
}

TEST(SeqTracker, InOrderGapReorderDuplicate) {
  seq_tracker t;
  EXPECT_EQ(t.observe(0).v, seq_tracker::verdict::in_order);
  EXPECT_EQ(t.observe(1).v, seq_tracker::verdict::in_order);
  auto const g = t.observe(4); // 2 and 3 skipped
  EXPECT_EQ(g.v, seq_tracker::verdict::gap);
  EXPECT_EQ(g.skipped, 2u);
  EXPECT_EQ(t.observe(2).v, seq_tracker::verdict::reordered);
  EXPECT_EQ(t.observe(2).v, seq_tracker::verdict::duplicate);
  EXPECT_EQ(t.observe(4).v, seq_tracker::verdict::duplicate);
  EXPECT_EQ(t.observe(1).v, seq_tracker::verdict::duplicate);
  EXPECT_EQ(t.observe(3).v, seq_tracker::verdict::reordered);
  EXPECT_EQ(t.observe(5).v, seq_tracker::verdict::in_order);
}

TEST(SeqTracker, LargeGapsAndOldArrivals) {
  seq_tracker t;
  EXPECT_EQ(t.observe(1000).skipped, 1000u);
  EXPECT_EQ(t.observe(10).v, seq_tracker::verdict::too_old);
  EXPECT_EQ(t.observe(999).v, seq_tracker::verdict::reordered);
  EXPECT_EQ(t.observe(1000).v, seq_tracker::verdict::duplicate);
  EXPECT_EQ(t.observe(1064).v, seq_tracker::verdict::gap); // skipped 1001..1063
  EXPECT_EQ(t.observe(1000).v, seq_tracker::verdict::too_old);
  EXPECT_EQ(t.observe(1001).v, seq_tracker::verdict::reordered);
  EXPECT_EQ(t.observe(1063).v, seq_tracker::verdict::reordered);
  EXPECT_EQ(t.observe(1063).v, seq_tracker::verdict::duplicate);
}

TEST(Histogram, BucketsAreMonotonicAndTight) {
  std::size_t last = 0;
  for (std::uint64_t v = 0; v < (1u << 20); v += 7) {
    auto const i = histogram::index(v);
    EXPECT_GE(i, last);
    last = i;
    auto const ub = histogram::upper_bound(i);
    ASSERT_GE(ub, v);
    EXPECT_LE(static_cast<double>(ub - v), 0.016 * static_cast<double>(v) + 1.0) << v;
  }
  EXPECT_EQ(histogram::index(~std::uint64_t{0}), histogram::bucket_count - 1);
}

TEST(Histogram, Quantiles) {
  histogram h;
  EXPECT_EQ(h.quantile(0.99), 0u);
  for (std::uint64_t v = 1; v <= 1000; ++v) h.record(v * 1000);
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_EQ(h.max(), 1'000'000u);
  EXPECT_NEAR(static_cast<double>(h.quantile(0.5)), 500'000.0, 10'000.0);
  EXPECT_NEAR(static_cast<double>(h.quantile(0.99)), 990'000.0, 16'000.0);
  EXPECT_EQ(h.quantile(1.0), 1'000'000u);
  histogram other;
  other.record(5'000'000);
  h.merge(other);
  EXPECT_EQ(h.count(), 1001u);
  EXPECT_EQ(h.max(), 5'000'000u);
}

TEST(Proc, ParsesStatWithAwkwardComm) {
  std::string const stat = "1234 (a) b (c) S 1 2 3 4 5 6 7 8 9 10 150 25 0 0 20 0 3 0 100 200 300\n";
  EXPECT_EQ(parse_proc_stat_cpu_ticks(stat), 175u);
  EXPECT_FALSE(parse_proc_stat_cpu_ticks("1234 (x) S 1 2"));
}

TEST(Proc, ParsesStatus) {
  EXPECT_EQ(parse_proc_status_rss_kib("Name:\tx\nVmPeak:\t 10 kB\nVmRSS:\t    5120 kB\nThreads: 1\n"), 5120u);
  EXPECT_FALSE(parse_proc_status_rss_kib("Name:\tx\n"));
}

TEST(Proc, ParsesSchedstat) {
  auto const t = parse_schedstat("474549787 1025897742 125\n");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->run_ns, 474549787u);
  EXPECT_EQ(t->wait_ns, 1025897742u);
  EXPECT_FALSE(parse_schedstat("12"));
}

TEST(Proc, ReadsOwnProcess) {
  EXPECT_TRUE(process_sched_times(::getpid()));
  EXPECT_TRUE(process_cpu_ticks(::getpid()));
  auto const rss = process_rss_kib(::getpid());
  ASSERT_TRUE(rss);
  EXPECT_GT(*rss, 0u);
}

TEST(Host, OnlyLoopback) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.1.2.3"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("::ffff:127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_FALSE(is_loopback_host("192.168.1.1"));
  EXPECT_FALSE(is_loopback_host("example.com"));
  EXPECT_FALSE(is_loopback_host("::ffff:10.0.0.1"));
  EXPECT_FALSE(is_loopback_host(""));
}

} // namespace
} // namespace crier::bench
