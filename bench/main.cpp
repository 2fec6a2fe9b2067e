// crier-bench: a WebSocket load generator for crier and for the peers it is compared with.
//
// Clients connect to ws://HOST:PORT/<path>; the first --senders of them send messages that carry
// a sender id, a per-sender sequence number and a send time, padded to --size. Every client
// reads everything its room delivers and checks it: latency, loss, gaps, duplicates, reordering.
// A sender keeps at most --in-flight messages that it has not yet received back itself; with
// --rate it sends that many messages per second, otherwise as fast as that window allows.
//
// Traffic goes to loopback addresses only, and every phase has a time bound.

#include "bench/bench_support.hpp"
#include "bench/options.hpp"
#include "bench/report.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

namespace crier::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
// The io_context's own executor type instead of any_io_executor: no type-erased executor copies
// on every operation.
using socket_type = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::uint64_t now_ns() noexcept {
  return static_cast<std::uint64_t>(
    std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch()).count());
}

// Single writer, any reader: a counter that one io thread bumps and the main thread polls,
// without a locked instruction on the hot path.
struct polled_counter {
  std::atomic<std::uint64_t> v{0};
  void add(std::uint64_t n) noexcept { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  std::uint64_t get() const noexcept { return v.load(std::memory_order_relaxed); }
};

// ---------------------------------------------------------------------------------------------
// The run: workers (one io_context and thread each) own their share of the clients.

struct control {
  std::atomic<bool> sending{false};
  std::atomic<std::uint64_t> window_start{~std::uint64_t{0}};
  std::atomic<std::uint64_t> window_end{0};
};

struct shared_setup {
  options const& opt;
  control& ctl;
  std::vector<tcp::endpoint> endpoints; // one per node; client c uses endpoints[c % size]
  std::vector<std::string> host_headers;
  std::vector<std::string> targets;       // per room
  std::vector<std::uint32_t> room_size;   // clients per room
  unsigned tracked_senders = 0;           // senders, or every client with --touch
  std::uint64_t period_ns = 0;            // rate mode

  std::uint32_t room_of(std::uint32_t c) const noexcept { return c % opt.rooms; }
  std::uint32_t tracks_in_room(std::uint32_t r) const noexcept {
    return tracked_senders > r ? (tracked_senders - 1 - r) / opt.rooms + 1 : 0;
  }
};

class worker;

class client {
public:
  client(worker& w, shared_setup const& s, asio::io_context& ioc, std::uint32_t id);

  void connect();
  void start_sending();
  void send_one(); // --touch
  void close();
  bool is_open() const noexcept { return open_; }
  std::uint32_t id() const noexcept { return id_; }
  std::uint64_t sent() const noexcept { return next_seq_; }

private:
  friend class worker;
  void on_connect(boost::system::error_code ec);
  void on_handshake(boost::system::error_code ec);
  void read();
  void on_read(boost::system::error_code ec);
  void on_own_echo();
  void kick();
  void schedule_tick();
  void fail(std::string const& what, boost::system::error_code ec);

  worker& w_;
  shared_setup const& s_;
  std::uint32_t const id_;
  std::uint32_t const room_;
  websocket::stream<socket_type> ws_;
  beast::flat_buffer rbuf_;
  std::vector<seq_tracker> tracks_; // by room-local sender index (sender id / rooms)
  std::uint64_t connect_started_ = 0;
  bool open_ = false;
  bool closing_ = false;
  bool close_after_write_ = false;
  bool failed_ = false;

  // Sender side.
  std::string out_;
  std::uint64_t next_seq_ = 0;
  std::uint32_t in_flight_ = 0;
  std::uint32_t queued_ = 0;
  bool writing_ = false;
  using timer_type = asio::basic_waitable_timer<steady, asio::wait_traits<steady>, asio::io_context::executor_type>;
  std::unique_ptr<timer_type> tick_;
  steady::time_point next_tick_{};
};

class worker {
public:
  worker(shared_setup const& s, std::vector<std::uint32_t> const& ids) : s_(s) {
    clients_.reserve(ids.size());
    for (auto id : ids) clients_.push_back(std::make_unique<client>(*this, s, ioc_, id));
    if (ids.size() == s.opt.clients && s.opt.rate == 0 && s.opt.in_flight > 0)
      acks_.assign(s.opt.senders, std::vector<std::uint32_t>(4 * s.opt.in_flight + 16, 0));
  }

  void start() {
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void post(std::function<void()> f) { asio::post(ioc_, std::move(f)); }

  void start_connecting() {
    post([this] {
      auto const n = std::min<std::size_t>(clients_.size(), concurrency_);
      for (std::size_t i = 0; i < n; ++i) connect_next();
    });
  }
  void connect_next() {
    if (next_connect_ < clients_.size()) clients_[next_connect_++]->connect();
  }
  void set_concurrency(unsigned c) { concurrency_ = std::max(1u, c); }

  void start_sending() {
    post([this] {
      for (auto& c : clients_)
        if (c->id() < s_.opt.senders) c->start_sending();
    });
  }
  void touch() {
    post([this] {
      for (auto& c : clients_) c->send_one();
    });
  }
  void close_all() {
    post([this] {
      for (auto& c : clients_) c->close();
    });
  }
  // Lets the thread end once its work is done; stop() ends it at once.
  void release() { guard_.reset(); }
  void stop() { ioc_.stop(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

  // Called on the worker's thread.
  void deliver(client& r, std::string_view payload);
  void note_error(std::string msg) {
    ++st_.errors;
    if (st_.first_error.empty()) st_.first_error = std::move(msg);
  }

private:
  // Declared first so that it is destroyed last: the clients' sockets belong to it.
  asio::io_context ioc_{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard_{ioc_.get_executor()};
  shared_setup const& s_;

public:
  stats st_;
  polled_counter connected_, failed_, closed_, sent_, unique_, expected_;
  std::vector<std::unique_ptr<client>> clients_;
  // With one worker (which then has every client, clients_[id] being client id), a sender's
  // window closes on a message only once every client of its room has it, not as soon as the
  // sender has its own echo: otherwise a server that delivers faster than the slowest reader
  // reads lets the senders run ahead of that reader without bound, until the server's
  // slow-consumer bound closes it. Counts by [sender][seq % ring].
  std::vector<std::vector<std::uint32_t>> acks_;

private:
  std::thread thread_;
  std::size_t next_connect_ = 0;
  unsigned concurrency_ = 128;

  friend class client;
};

client::client(worker& w, shared_setup const& s, asio::io_context& ioc, std::uint32_t id)
  : w_(w), s_(s), id_(id), room_(s.room_of(id)), ws_(ioc) {
  tracks_.resize(s.tracks_in_room(room_));
  if (id < s.opt.senders || s.opt.touch) out_ = make_payload(s.opt.size);
}

void client::fail(std::string const& what, boost::system::error_code ec) {
  open_ = false;
  if (!failed_) {
    failed_ = true;
    w_.note_error(fmt::format("client {}: {}: {}", id_, what, ec.message()));
  }
}

void client::connect() {
  connect_started_ = now_ns();
  ws_.next_layer().async_connect(s_.endpoints[id_ % s_.endpoints.size()], [this](boost::system::error_code ec) { on_connect(ec); });
}

void client::on_connect(boost::system::error_code ec) {
  if (ec) {
    fail("connect", ec);
    w_.failed_.add(1);
    w_.connect_next();
    return;
  }
  boost::system::error_code ignored;
  ws_.next_layer().set_option(tcp::no_delay(true), ignored);
  ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
  ws_.auto_fragment(false);
  ws_.secure_prng(false); // masks need not be unpredictable on loopback; this is cheaper
  ws_.binary(s_.opt.binary);
  ws_.read_message_max(std::max<std::size_t>(s_.opt.size * 2, 64 * 1024));
  if (!out_.empty()) ws_.write_buffer_bytes(std::clamp<std::size_t>(s_.opt.size + 16, 4096, 1 << 20));
  if (!s_.opt.subprotocol.empty()) {
    ws_.set_option(websocket::stream_base::decorator([p = s_.opt.subprotocol](websocket::request_type& req) {
      req.set(beast::http::field::sec_websocket_protocol, p);
    }));
  }
  ws_.async_handshake(s_.host_headers[id_ % s_.host_headers.size()], s_.targets[room_], [this](boost::system::error_code e) { on_handshake(e); });
}

void client::on_handshake(boost::system::error_code ec) {
  if (ec) {
    fail("handshake", ec);
    boost::system::error_code ignored;
    ws_.next_layer().close(ignored);
    w_.failed_.add(1);
    w_.connect_next();
    return;
  }
  open_ = true;
  w_.st_.connect.record(now_ns() - connect_started_);
  w_.connected_.add(1);
  read();
  w_.connect_next();
}

void client::read() {
  ws_.async_read(rbuf_, [this](boost::system::error_code ec, std::size_t) { on_read(ec); });
}

void client::on_read(boost::system::error_code ec) {
  if (ec) {
    open_ = false;
    if (!closing_) {
      auto const& reason = ws_.reason();
      fail(fmt::format("read (close code {} '{}')", static_cast<unsigned>(reason.code),
                       std::string_view(reason.reason.data(), reason.reason.size())),
           ec);
    }
    w_.closed_.add(1);
    return;
  }
  auto const data = rbuf_.cdata();
  w_.deliver(*this, std::string_view(static_cast<char const*>(data.data()), data.size()));
  rbuf_.consume(rbuf_.size());
  read();
}

void client::start_sending() {
  if (s_.opt.rate > 0) {
    tick_ = std::make_unique<timer_type>(ws_.get_executor());
    // Spread the senders' first messages over one period so they do not all send at once.
    auto const offset = s_.period_ns * id_ / std::max(1u, s_.opt.senders);
    next_tick_ = steady::now() + std::chrono::nanoseconds(static_cast<std::int64_t>(offset));
    schedule_tick();
    return;
  }
  queued_ = s_.opt.in_flight;
  kick();
}

void client::send_one() {
  if (out_.empty()) return;
  ++queued_;
  kick();
}

void client::schedule_tick() {
  tick_->expires_at(next_tick_);
  tick_->async_wait([this](boost::system::error_code ec) {
    if (ec || closing_ || !s_.ctl.sending.load(std::memory_order_relaxed)) return;
    auto const limit = s_.opt.in_flight;
    if (limit == 0 || in_flight_ + queued_ < limit) {
      ++queued_;
      kick();
    } else {
      ++w_.st_.skipped_ticks;
    }
    next_tick_ += std::chrono::nanoseconds(static_cast<std::int64_t>(s_.period_ns));
    auto const now = steady::now();
    if (next_tick_ + 1s < now) next_tick_ = now; // do not burst to catch up after a long stall
    schedule_tick();
  });
}

void client::on_own_echo() {
  if (in_flight_ > 0) --in_flight_;
  if (s_.opt.rate > 0 || !s_.ctl.sending.load(std::memory_order_relaxed)) return;
  ++queued_;
  kick();
}

void client::kick() {
  if (writing_ || queued_ == 0 || !open_ || closing_) return;
  --queued_;
  auto const sent_at = now_ns();
  write_header(out_.data(), header{id_, next_seq_++, sent_at});
  ++in_flight_;
  writing_ = true;
  ++w_.st_.sent_total;
  w_.sent_.add(1);
  if (sent_at >= s_.ctl.window_start.load(std::memory_order_relaxed) &&
      sent_at < s_.ctl.window_end.load(std::memory_order_relaxed))
    ++w_.st_.sent_window;
  w_.expected_.add(s_.room_size[room_]);
  ws_.async_write(asio::buffer(out_), [this](boost::system::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) {
      if (!closing_) fail("write", ec);
      return;
    }
    if (close_after_write_) {
      close_after_write_ = false;
      closing_ = false; // let close() run now
      close();
      return;
    }
    kick();
  });
}

void client::close() {
  closing_ = true;
  if (tick_) tick_->cancel();
  if (!open_) return;
  if (writing_) {
    close_after_write_ = true; // one write at a time: the close goes after this one
    return;
  }
  ws_.async_close(websocket::close_code::normal, [](boost::system::error_code) {
    // The pending read sees the server's answer and ends.
  });
}

void worker::deliver(client& r, std::string_view payload) {
  auto const now = now_ns();
  ++st_.received_total;
  auto const h = read_header(payload);
  if (!h || payload.size() != s_.opt.size) {
    ++st_.corrupt;
    return;
  }
  auto const local = h->sender / s_.opt.rooms;
  if (h->sender >= s_.tracked_senders || s_.room_of(h->sender) != r.room_ || local >= r.tracks_.size()) {
    ++st_.foreign;
    return;
  }
  auto const res = r.tracks_[local].observe(h->seq);
  switch (res.v) {
  case seq_tracker::verdict::in_order:
    unique_.add(1);
    break;
  case seq_tracker::verdict::gap:
    ++st_.gaps;
    st_.missing += res.skipped;
    unique_.add(1);
    break;
  case seq_tracker::verdict::reordered:
    ++st_.reorders;
    unique_.add(1);
    break;
  case seq_tracker::verdict::duplicate:
  case seq_tracker::verdict::too_old:
    ++st_.duplicates;
    break;
  }
  if (now >= s_.ctl.window_start.load(std::memory_order_relaxed) &&
      now < s_.ctl.window_end.load(std::memory_order_relaxed)) {
    ++st_.deliveries_window;
    st_.latency.record(now >= h->sent_ns ? now - h->sent_ns : 0);
  }
  if (!acks_.empty()) {
    if (h->sender < acks_.size() && res.v != seq_tracker::verdict::duplicate && res.v != seq_tracker::verdict::too_old) {
      auto& ring = acks_[h->sender];
      auto& count = ring[h->seq % ring.size()];
      if (++count == s_.room_size[s_.room_of(h->sender)]) {
        count = 0;
        clients_[h->sender]->on_own_echo(); // every client of the room has it: the window moves
      }
    }
  } else if (h->sender == r.id_) {
    r.on_own_echo();
  }
}

// ---------------------------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------------------------

int run(options const& o) {
  raise_fd_limit(o.clients + 64);
  if (fd_soft_limit() < o.clients + 64) {
    std::fprintf(stderr, "crier-bench: %u clients need %u file descriptors; the limit is %u\n", o.clients,
                 o.clients + 64, fd_soft_limit());
    return 2;
  }

  control ctl;
  shared_setup s{o, ctl, {}, {}, {}, {}, 0, 0};
  auto const address = asio::ip::make_address(o.host == "localhost" ? "127.0.0.1" : o.host);
  for (auto const p : o.ports.empty() ? std::vector<std::uint16_t>{o.port} : o.ports) {
    s.endpoints.emplace_back(address, p);
    s.host_headers.push_back((address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
                             std::to_string(p));
  }
  for (unsigned r = 0; r < o.rooms; ++r) s.targets.push_back(o.rooms == 1 ? o.path : fmt::format("{}-{}", o.path, r));
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

  if (all_connected && o.senders == 0) {
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
    auto const b0 = self_cpu_seconds();
    auto const bs0 = process_sched_times(static_cast<int>(::getpid()));
    std::this_thread::sleep_until(end);
    auto const s1 = sample_server(o.server_pid);
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

} // namespace
} // namespace crier::bench

int main(int argc, char** argv) {
  crier::bench::options o;
  if (auto status = crier::bench::parse(argc, argv, o)) return *status;
  try {
    return crier::bench::run(o);
  } catch (std::exception const& e) {
    std::fprintf(stderr, "crier-bench: %s\n", e.what());
    return 3;
  }
}
