// One run of crier-bench, phase by phase, and the measurements of the server and of ourselves between phases.

#include "bench/phases.hpp"

#include "bench/client.hpp"
#include "bench/report.hpp"
#include "bench/tcp_bytes.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace crier::bench {
namespace {

using namespace std::chrono_literals;

// Measurements of the server process and of ourselves.

struct server_sample {
  std::optional<std::uint64_t> cpu_ticks, rss_kib;
  std::optional<sched_times> sched;
};

server_sample sample_server(int pid) {
  if (pid == 0) return {};
  return {process_cpu_ticks(pid), process_rss_kib(pid), process_sched_times(pid)};
}

double self_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto const tv = [](timeval t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return tv(u.ru_utime) + tv(u.ru_stime);
}

void raise_fd_limit(unsigned needed) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max && rl.rlim_cur < needed) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

unsigned fd_soft_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  return rl.rlim_cur > 1'000'000 ? 1'000'000u : static_cast<unsigned>(rl.rlim_cur);
}

// Polls `done` every 5 ms until it is true or `timeout` has passed. Returns done().
template <class F>
bool wait_until(F done, std::chrono::duration<double> timeout) {
  auto const deadline = steady::now() + std::chrono::duration_cast<steady::duration>(timeout);
  while (!done()) {
    if (steady::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

template <class F>
std::uint64_t sum(std::vector<std::unique_ptr<worker>> const& ws, F f) {
  std::uint64_t t = 0;
  for (auto const& w : ws) t += f(*w);
  return t;
}

} // namespace

int run(options const& o) {
  raise_fd_limit(o.clients + 64);
  if (fd_soft_limit() < o.clients + 64) {
    std::fprintf(stderr, "crier-bench: %u clients need %u file descriptors; the limit is %u\n", o.clients,
                 o.clients + 64, fd_soft_limit());
    return 2;
  }

  control ctl;
  shared_setup s{o, ctl, {}, {}, {}, {}, {}, 0, 0, nullptr};
  std::optional<chat_corpus> chat;
  if (o.payload == "words") s.chat = &chat.emplace();
  auto const address = asio::ip::make_address(o.host == "localhost" ? "127.0.0.1" : o.host);
  auto const server_ports = o.ports.empty() ? std::vector<std::uint16_t>{o.port} : o.ports;
  int const family = address.is_v6() ? AF_INET6 : AF_INET; // what the server's sockets are, for tcp_bytes
  for (auto const p : server_ports) {
    s.endpoints.emplace_back(address, p);
    // Appended piece by piece: GCC 12 warns a false -Wrestrict on `"[" + std::string` in release builds.
    std::string host = address.is_v6() ? std::string("[") : std::string();
    host += address.to_string();
    if (address.is_v6()) host += ']';
    host += ':';
    host += std::to_string(p);
    s.host_headers.push_back(std::move(host));
  }
  for (unsigned r = 0; r < o.rooms; ++r) s.targets.push_back(o.rooms == 1 ? o.path : fmt::format("{}-{}", o.path, r));
  // --receivers sse: the same rooms as event streams, /ws/<room> read at /sse/<room>.
  if (o.receivers == "sse")
    for (auto const& t : s.targets) s.sse_targets.push_back("/sse" + t.substr(3));
  s.room_size.assign(o.rooms, 0);
  for (unsigned c = 0; c < o.clients; ++c) ++s.room_size[s.room_of(c)];
  s.tracked_senders = o.touch ? o.clients : o.senders;
  if (o.rate > 0) s.period_ns = static_cast<std::uint64_t>(1e9 / o.rate);

  report r;
  r.opt = &o;
  r.server_pid = o.server_pid;
  auto const start = sample_server(o.server_pid);
  r.rss_start = start.rss_kib;
  if (o.server_pid != 0 && !start.cpu_ticks) {
    std::fprintf(stderr, "crier-bench: cannot read /proc/%d/stat\n", o.server_pid);
    return 2;
  }

  // Clients are dealt to the workers round-robin, so every worker has senders and receivers.
  std::vector<std::unique_ptr<worker>> workers;
  for (unsigned t = 0; t < o.threads; ++t) {
    std::vector<std::uint32_t> ids;
    for (unsigned c = t; c < o.clients; c += o.threads) ids.push_back(c);
    workers.push_back(std::make_unique<worker>(s, ids));
    workers.back()->set_concurrency((o.connect_concurrency + o.threads - 1) / o.threads);
  }
  for (auto& w : workers) w->start();

  auto const connected = [&] { return sum(workers, [](worker& w) { return w.connected_.get(); }); };
  auto const failed = [&] { return sum(workers, [](worker& w) { return w.failed_.get(); }); };
  auto const unique = [&] { return sum(workers, [](worker& w) { return w.unique_.get(); }); };
  auto const expected = [&] { return sum(workers, [](worker& w) { return w.expected_.get(); }); };
  auto const drain = [&] {
    return wait_until([&] { return unique() >= expected(); }, std::chrono::duration<double>(o.drain_timeout));
  };

  // Connect.
  auto const t0 = steady::now();
  for (auto& w : workers) w->start_connecting();
  wait_until([&] { return connected() + failed() >= o.clients; }, std::chrono::duration<double>(o.connect_timeout));
  r.connect_s = std::chrono::duration<double>(steady::now() - t0).count();
  r.connected = static_cast<unsigned>(connected());
  r.connect_failed = o.clients - r.connected;
  bool const all_connected = r.connect_failed == 0;
  // A client whose connection a broken server closed right away shows as an error below.
  if (all_connected) r.rss_connected = sample_server(o.server_pid).rss_kib;

  if (all_connected && o.presence) {
    // Join: every client's welcome is here. Then wait until presence is quiet (no event for
    // 300 ms), so that the broadcast is measured alone, and send the one message.
    auto const welcomed = [&] { return sum(workers, [](worker& w) { return w.welcomed_.get(); }); };
    auto const presence = [&] { return sum(workers, [](worker& w) { return w.presence_got_.get(); }); };
    wait_until([&] { return welcomed() >= o.clients; }, std::chrono::duration<double>(o.connect_timeout));
    r.join_s = std::chrono::duration<double>(steady::now() - t0).count();
    auto const quiet_from = steady::now();
    auto last = presence();
    auto last_change = steady::now();
    while (steady::now() - quiet_from < 30s && steady::now() - last_change < 300ms) {
      std::this_thread::sleep_for(20ms);
      if (auto const now = presence(); now != last) {
        last = now;
        last_change = steady::now();
      }
    }
    r.settle_s = std::chrono::duration<double>(steady::now() - quiet_from).count();
    r.presence_before_broadcast = presence();
    r.rss_idle = sample_server(o.server_pid).rss_kib;
    workers.front()->broadcast_from_first();
    auto const got = [&] { return sum(workers, [](worker& w) { return w.broadcast_got_.get(); }); };
    r.drained = wait_until([&] { return got() >= r.connected; }, std::chrono::duration<double>(o.drain_timeout));
  } else if (all_connected && o.senders == 0) {
    // Idle: hold the connections, let the server settle, read its RSS.
    std::this_thread::sleep_for(std::chrono::duration<double>(o.duration));
    r.rss_idle = sample_server(o.server_pid).rss_kib;
    if (o.touch) {
      for (auto& w : workers) w->touch();
      // Everyone sends once: wait until all sends are out and delivered.
      r.drained = wait_until([&] { return sum(workers, [](worker& w) { return w.sent_.get(); }) >= o.clients; },
                             std::chrono::duration<double>(o.drain_timeout)) &&
                  drain();
      std::this_thread::sleep_for(std::chrono::duration<double>(o.settle));
      r.rss_touched = sample_server(o.server_pid).rss_kib;
    }
  } else if (all_connected) {
    auto const begin = steady::now() + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(o.warmup));
    auto const end = begin + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(o.duration));
    auto const ns = [](steady::time_point t) {
      return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
    };
    ctl.window_start.store(ns(begin));
    ctl.window_end.store(ns(end));
    ctl.sending.store(true);
    for (auto& w : workers) w->start_sending();

    std::this_thread::sleep_until(begin);
    auto const s0 = sample_server(o.server_pid);
    auto const tcp0 = tcp_sent_from_ports(server_ports, family);
    auto const b0 = self_cpu_seconds();
    auto const bs0 = process_sched_times(static_cast<int>(::getpid()));
    std::this_thread::sleep_until(end);
    auto const s1 = sample_server(o.server_pid);
    auto const tcp1 = tcp_sent_from_ports(server_ports, family);
    auto const b1 = self_cpu_seconds();
    auto const bs1 = process_sched_times(static_cast<int>(::getpid()));
    if (bs0 && bs1 && bs1->wait_ns >= bs0->wait_ns)
      r.bench_wait_s = static_cast<double>(bs1->wait_ns - bs0->wait_ns) / 1e9;
    r.window_s = o.duration;
    r.bench_cpu_s = b1 - b0;
    if (s0.sched && s1.sched && s1.sched->run_ns >= s0.sched->run_ns && s1.sched->wait_ns >= s0.sched->wait_ns) {
      r.server_run_s = static_cast<double>(s1.sched->run_ns - s0.sched->run_ns) / 1e9;
      r.server_wait_s = static_cast<double>(s1.sched->wait_ns - s0.sched->wait_ns) / 1e9;
    }
    if (tcp0 && tcp1 && tcp1->bytes >= tcp0->bytes && tcp1->segments >= tcp0->segments) {
      r.server_tcp_bytes = tcp1->bytes - tcp0->bytes;
      r.server_tcp_segments = tcp1->segments - tcp0->segments;
    }
    if (s0.cpu_ticks && s1.cpu_ticks)
      r.server_cpu_s = static_cast<double>(*s1.cpu_ticks - *s0.cpu_ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
    ctl.sending.store(false);
    r.drained = drain();
  }
  r.rss_end = sample_server(o.server_pid).rss_kib;

  // Close: a normal close for every open connection, a bounded wait, then stop regardless.
  auto const open_clients = r.connected;
  for (auto& w : workers) w->close_all();
  r.closed_cleanly = wait_until([&] { return sum(workers, [](worker& w) { return w.closed_.get(); }) >= open_clients; },
                                5s);
  for (auto& w : workers) w->release();
  for (auto& w : workers) w->stop();
  for (auto& w : workers) w->join();

  // Every worker thread has ended: its state can be read from here.
  for (auto& w : workers) r.st.merge(w->st_);
  r.expected = expected();
  r.unique = unique();
  r.loss = r.expected > r.unique ? r.expected - r.unique : 0;
  if (o.json)
    print_json(r);
  else
    print_text(r);
  if (!all_connected) return 3;
  return r.ok() ? 0 : 1;
}

} // namespace crier::bench
