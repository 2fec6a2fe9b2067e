#pragma once
// The pieces of crier-bench that are plain logic and unit-tested on their own: the payload
// header every message carries, the per-sender sequence tracker a receiver keeps, the latency
// histogram, and the /proc readers for the server's CPU time and RSS.

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace crier::bench {

// ---------------------------------------------------------------------------------------------
// Payload: 40 ASCII hex digits (sender id, per-sender sequence number, send time in steady-clock
// nanoseconds), then padding up to the message size. ASCII so the same bytes are valid text.

inline constexpr std::size_t header_size = 8 + 16 + 16;
inline constexpr char padding_char = '.';

struct header {
  std::uint32_t sender = 0;
  std::uint64_t seq = 0;
  std::uint64_t sent_ns = 0;
};

namespace detail {
inline constexpr char hex_digits[] = "0123456789abcdef";

inline void put_hex(char* out, std::uint64_t v, int digits) noexcept {
  for (int i = digits - 1; i >= 0; --i) {
    out[i] = hex_digits[v & 0xf];
    v >>= 4;
  }
}

inline constexpr std::array<std::int8_t, 256> hex_values = [] {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 10; ++i) t[static_cast<std::size_t>('0' + i)] = static_cast<std::int8_t>(i);
  for (int i = 0; i < 6; ++i) t[static_cast<std::size_t>('a' + i)] = static_cast<std::int8_t>(10 + i);
  return t;
}();

inline bool get_hex(char const* in, int digits, std::uint64_t& v) noexcept {
  v = 0;
  for (int i = 0; i < digits; ++i) {
    auto const d = hex_values[static_cast<unsigned char>(in[i])];
    if (d < 0) return false;
    v = (v << 4) | static_cast<std::uint64_t>(d);
  }
  return true;
}
} // namespace detail

// A payload of `size` bytes (size >= header_size) with a zeroed header and the padding in place.
inline std::string make_payload(std::size_t size) {
  std::string p(std::max(size, header_size), padding_char);
  detail::put_hex(p.data(), 0, static_cast<int>(header_size));
  return p;
}

// Rewrites the header of a payload made by make_payload; touches nothing else.
inline void write_header(char* payload, header const& h) noexcept {
  detail::put_hex(payload, h.sender, 8);
  detail::put_hex(payload + 8, h.seq, 16);
  detail::put_hex(payload + 24, h.sent_ns, 16);
}

inline std::optional<header> read_header(std::string_view payload) noexcept {
  if (payload.size() < header_size) return std::nullopt;
  std::uint64_t sender = 0, seq = 0, ts = 0;
  if (!detail::get_hex(payload.data(), 8, sender) || !detail::get_hex(payload.data() + 8, 16, seq) ||
      !detail::get_hex(payload.data() + 24, 16, ts))
    return std::nullopt;
  return header{static_cast<std::uint32_t>(sender), seq, ts};
}

// ---------------------------------------------------------------------------------------------
// What one receiver knows about one sender: the next sequence number it expects, and which of
// the 64 numbers below that it has seen (so a late arrival can be told from a duplicate).

struct seq_tracker {
  std::uint64_t next = 0;
  std::uint64_t seen_below = 0; // bit i: next - 1 - i has arrived

  enum class verdict {
    in_order,  // the expected number
    gap,       // later than expected: the numbers in between have not arrived (yet)
    reordered, // earlier than expected and not seen before: it arrived late
    duplicate, // seen before
    too_old,   // more than 64 below the expected number: a duplicate or very late
  };

  struct result {
    verdict v;
    std::uint64_t skipped = 0; // for gap: how many numbers were skipped
  };

  result observe(std::uint64_t seq) noexcept {
    if (seq == next) {
      seen_below = (seen_below << 1) | 1u;
      ++next;
      return {verdict::in_order};
    }
    if (seq > next) {
      auto const skipped = seq - next;
      // Shift in the skipped numbers as unseen, then the arrival itself as seen.
      seen_below = skipped + 1 >= 64 ? 1u : ((seen_below << (skipped + 1)) | 1u);
      next = seq + 1;
      return {verdict::gap, skipped};
    }
    auto const distance = next - 1 - seq;
    if (distance >= 64) return {verdict::too_old};
    auto const bit = std::uint64_t{1} << distance;
    if (seen_below & bit) return {verdict::duplicate};
    seen_below |= bit;
    return {verdict::reordered};
  }
};

// ---------------------------------------------------------------------------------------------
// A log-linear histogram of non-negative values (nanoseconds here): exact below 128, then 64
// buckets per power of two (under 1.6 % error), up to 2^48. Fixed size, no allocation per value.

class histogram {
public:
  static constexpr int sub_bits = 6;
  static constexpr std::uint64_t sub_count = 1u << sub_bits;         // 64
  static constexpr std::uint64_t linear_limit = 2 * sub_count;       // values below are exact
  static constexpr int max_bits = 48;
  static constexpr std::size_t bucket_count = linear_limit + (max_bits - sub_bits - 1) * sub_count;

  void record(std::uint64_t v) noexcept {
    ++counts_[index(v)];
    ++total_;
    max_ = std::max(max_, v);
  }

  void merge(histogram const& o) noexcept {
    for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
    max_ = std::max(max_, o.max_);
  }

  std::uint64_t count() const noexcept { return total_; }
  std::uint64_t max() const noexcept { return max_; }

  // The value at quantile q (0..1): the upper bound of the bucket holding it, capped at max().
  std::uint64_t quantile(double q) const noexcept {
    if (total_ == 0) return 0;
    q = std::clamp(q, 0.0, 1.0);
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total_));
    if (rank >= total_) rank = total_ - 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
      seen += counts_[i];
      if (seen > rank) return std::min(upper_bound(i), max_);
    }
    return max_;
  }

  static std::size_t index(std::uint64_t v) noexcept {
    if (v < linear_limit) return static_cast<std::size_t>(v);
    int const msb = 63 - std::countl_zero(v); // >= sub_bits + 1
    if (msb >= max_bits) return bucket_count - 1;
    int const shift = msb - sub_bits;          // >= 1
    auto const sub = (v >> shift) - sub_count; // 0..63
    return static_cast<std::size_t>(linear_limit + static_cast<std::uint64_t>(shift - 1) * sub_count + sub);
  }

  static std::uint64_t upper_bound(std::size_t i) noexcept {
    if (i < linear_limit) return i;
    auto const k = i - linear_limit;
    auto const shift = static_cast<int>(k / sub_count) + 1;
    auto const sub = k % sub_count + sub_count;
    return ((sub + 1) << shift) - 1;
  }

private:
  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
};

// ---------------------------------------------------------------------------------------------
// /proc readers for another process. Both return nullopt when the process or field is gone.

// utime + stime of every thread of `pid`, in clock ticks (see sysconf(_SC_CLK_TCK)).
std::optional<std::uint64_t> parse_proc_stat_cpu_ticks(std::string_view stat);
std::optional<std::uint64_t> process_cpu_ticks(int pid);

// VmRSS of `pid`, in KiB.
std::optional<std::uint64_t> parse_proc_status_rss_kib(std::string_view status);
std::optional<std::uint64_t> process_rss_kib(int pid);

// Scheduler statistics of every thread of `pid` (/proc/PID/task/*/schedstat), in nanoseconds:
// time spent running, and time spent runnable but waiting for a CPU (other work on the machine).
struct sched_times {
  std::uint64_t run_ns = 0;
  std::uint64_t wait_ns = 0;
};
std::optional<sched_times> parse_schedstat(std::string_view schedstat);
std::optional<sched_times> process_sched_times(int pid);

// True for 127.0.0.0/8, ::1 and "localhost": the only hosts crier-bench sends traffic to.
bool is_loopback_host(std::string const& host);

} // namespace crier::bench
