#pragma once
// The load clients (one connection each: a WebSocket, or with --receivers sse an event stream for
// those that do not send) and the workers, one io thread each, that own them.

#include "bench/bench_support.hpp"
#include "bench/chat_payload.hpp"
#include "bench/options.hpp"
#include "bench/report.hpp"
#include "bench/sse_stream.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace crier::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
// The io_context's own executor type instead of any_io_executor: no type-erased executor copies
// on every operation.
using socket_type = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;
using steady = std::chrono::steady_clock;

// Single writer, any reader: a counter that one io thread bumps and the main thread polls,
// without a locked instruction on the hot path.
struct polled_counter {
  std::atomic<std::uint64_t> v{0};
  void add(std::uint64_t n) noexcept { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  std::uint64_t get() const noexcept { return v.load(std::memory_order_relaxed); }
};

// What the main thread tells every client: whether to send, and the measured window (steady-clock
// nanoseconds) that sends and deliveries are counted in.
struct control {
  std::atomic<bool> sending{false};
  std::atomic<std::uint64_t> broadcast_ns{0}; // --scenario presence: when the one message was sent
  std::atomic<std::uint64_t> window_start{~std::uint64_t{0}};
  std::atomic<std::uint64_t> window_end{0};
};

// What every worker reads and none writes once the run has started: the endpoints, the rooms, the rate.
struct shared_setup {
  options const& opt;
  control& ctl;
  std::vector<tcp::endpoint> endpoints; // one per node; client c uses endpoints[c % size]
  std::vector<std::string> host_headers;
  std::vector<std::string> targets;       // per room
  std::vector<std::string> sse_targets;   // per room, /sse/<room>: --receivers sse
  std::vector<std::uint32_t> room_size;   // clients per room
  unsigned tracked_senders = 0;           // senders, or every client with --touch
  std::uint64_t period_ns = 0;            // rate mode
  chat_corpus const* chat = nullptr;      // --payload words

  std::uint32_t room_of(std::uint32_t c) const noexcept { return c % opt.rooms; }
  std::uint32_t tracks_in_room(std::uint32_t r) const noexcept {
    return tracked_senders > r ? (tracked_senders - 1 - r) / opt.rooms + 1 : 0;
  }
};

class worker;

// What a client reads: raw WebSocket messages (every sender, and every receiver by default),
// crier.v1 events over WebSocket, or crier.v1 events as an HTTP event stream (--receivers).
enum class receiver_kind : std::uint8_t { raw, json, sse };

class client {
public:
  client(worker& w, shared_setup const& s, asio::io_context& ioc, std::uint32_t id);

  void connect();
  void start_sending();
  void send_one(); // --touch
  void send_broadcast(); // --scenario presence
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
  // --receivers sse: the request, the reads, the events, and the end of the stream.
  void sse_request();
  void sse_read();
  void on_sse_read(boost::system::error_code ec, std::size_t n);
  void on_sse_event(sse_event const& e);
  void sse_stop(std::string const& what, boost::system::error_code ec);

  worker& w_;
  shared_setup const& s_;
  std::uint32_t const id_;
  std::uint32_t const room_;
  websocket::stream<socket_type> ws_;
  beast::flat_buffer rbuf_;
  std::vector<seq_tracker> tracks_; // by room-local sender index (sender id / rooms)
  // --deflate: the handshake's response, to see whether the server took the offer; freed after.
  std::unique_ptr<websocket::response_type> response_;
  std::uint64_t connect_started_ = 0;
  bool open_ = false;
  bool closing_ = false;
  bool close_after_write_ = false;
  bool failed_ = false;
  receiver_kind const kind_;

  // --receivers sse: the socket is ws_'s, used without a WebSocket handshake.
  struct event_stream {
    static constexpr std::size_t buffer_size = 16 * 1024;
    http_stream_decoder http;
    sse_parser parser;
    std::string request;
    std::string close_event; // the data of a close event, should the server end the stream
    std::unique_ptr<char[]> buffer{new char[buffer_size]};
  };
  std::unique_ptr<event_stream> sse_;

  // Sender side.
  bool const sends_; // a sender, or any client with --touch
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
  void broadcast_from_first() {
    post([this] {
      if (!clients_.empty()) clients_.front()->send_broadcast();
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
  // A crier.v1 event a json or sse receiver got: a message's text goes to deliver(), other
  // events are counted, anything else is corrupt.
  void deliver_event(client& r, std::string_view json);
  void deliver_presence_scenario(std::string_view payload);
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
  polled_counter welcomed_, presence_got_, broadcast_got_; // --scenario presence
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
  std::string text_scratch_; // deliver_event: a message's text when it had to be unescaped

  friend class client;
};

} // namespace crier::bench
