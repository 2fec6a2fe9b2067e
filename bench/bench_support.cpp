#include "bench/bench_support.hpp"

#include <boost/asio/ip/address.hpp>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace crier::bench {

namespace {

std::optional<std::string> slurp(std::string const& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto const [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

} // namespace

std::optional<std::uint64_t> parse_proc_stat_cpu_ticks(std::string_view stat) {
  // "pid (comm) state ppid ..." where comm may hold spaces and parentheses: fields are counted
  // from the last ')'. utime and stime are fields 14 and 15, i.e. the 12th and 13th after it.
  auto const close = stat.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  auto rest = stat.substr(close + 1);
  std::uint64_t total = 0;
  for (int field = 3; field <= 15; ++field) {
    auto const start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) return std::nullopt;
    rest = rest.substr(start);
    auto const end = rest.find_first_of(" \n");
    auto const token = rest.substr(0, end);
    if (field >= 14) {
      auto const v = to_u64(token);
      if (!v) return std::nullopt;
      total += *v;
    }
    if (end == std::string_view::npos) {
      if (field < 15) return std::nullopt;
      break;
    }
    rest = rest.substr(end);
  }
  return total;
}

std::optional<std::uint64_t> process_cpu_ticks(int pid) {
  auto const text = slurp("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  return parse_proc_stat_cpu_ticks(*text);
}

std::optional<std::uint64_t> parse_proc_status_rss_kib(std::string_view status) {
  constexpr std::string_view key = "VmRSS:";
  std::size_t pos = 0;
  while (pos < status.size()) {
    auto const eol = status.find('\n', pos);
    auto const line = status.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (line.starts_with(key)) {
      auto v = line.substr(key.size());
      auto const b = v.find_first_not_of(" \t");
      if (b == std::string_view::npos) return std::nullopt;
      v = v.substr(b);
      auto const e = v.find_first_of(" \t");
      return to_u64(v.substr(0, e));
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> process_rss_kib(int pid) {
  auto const text = slurp("/proc/" + std::to_string(pid) + "/status");
  if (!text) return std::nullopt;
  return parse_proc_status_rss_kib(*text);
}

std::optional<sched_times> parse_schedstat(std::string_view schedstat) {
  // "run_ns wait_ns timeslices"
  auto const a = schedstat.find(' ');
  if (a == std::string_view::npos) return std::nullopt;
  auto const b = schedstat.find(' ', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  auto const run = to_u64(schedstat.substr(0, a));
  auto const wait = to_u64(schedstat.substr(a + 1, b - a - 1));
  if (!run || !wait) return std::nullopt;
  return sched_times{*run, *wait};
}

std::optional<sched_times> process_sched_times(int pid) {
  std::error_code ec;
  sched_times total;
  bool any = false;
  std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/task", ec);
  if (ec) return std::nullopt;
  std::size_t seen = 0;
  for (auto const& entry : it) {
    if (++seen > 4096) break; // bounded, whatever the process does
    auto const text = slurp(entry.path().string() + "/schedstat");
    if (!text) continue; // the thread ended meanwhile
    if (auto const t = parse_schedstat(*text)) {
      total.run_ns += t->run_ns;
      total.wait_ns += t->wait_ns;
      any = true;
    }
  }
  if (!any) return std::nullopt;
  return total;
}

bool is_loopback_host(std::string const& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  auto const a = boost::asio::ip::make_address(host, ec);
  if (ec) return false;
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()).is_loopback();
  return a.is_loopback();
}

} // namespace crier::bench
