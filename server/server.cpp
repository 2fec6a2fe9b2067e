#include "server/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <thread>
#include <vector>

namespace crier {

namespace asio = boost::asio;

namespace {
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

std::string url_host(asio::ip::address const& a) {
  return a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
}
} // namespace

server::server(config cfg)
  : state_(std::move(cfg)),
    ioc_(static_cast<int>(state_.cfg().threads)),
    strand_(asio::make_strand(ioc_)),
    signals_(strand_, SIGINT, SIGTERM),
    drain_timer_(strand_),
    listener_(ioc_, state_) {}

int server::run() {
  auto const& cfg = state_.cfg();
  spdlog::info("crier {} starting: threads={} static_dir={} max_message_size={} shutdown_timeout_ms={}",
               CRIER_VERSION, cfg.threads, cfg.static_dir.string(), cfg.max_message_size,
               cfg.shutdown_timeout.count());
  auto const ep = listener_.local_endpoint();
  listener_.start();
  asio::co_spawn(strand_, handle_signals(), asio::detached);
  spdlog::info("listening on http://{}:{}", url_host(ep.address()), ep.port());

  std::vector<std::jthread> threads;
  threads.reserve(cfg.threads - 1);
  for (unsigned i = 1; i < cfg.threads; ++i) threads.emplace_back([this] { ioc_.run(); });
  ioc_.run();
  for (auto& t : threads) t.join();
  // Sessions that outlived the drain are destroyed with the io_context; they must not post to it.
  state_.set_idle_callback({});
  return 0;
}

asio::awaitable<void> server::handle_signals() {
  auto [ec, signal] = co_await signals_.async_wait(nothrow);
  if (ec) co_return;
  asio::co_spawn(strand_, drain(signal), asio::detached);
  // A second signal means the operator will not wait for the drain.
  std::tie(ec, signal) = co_await signals_.async_wait(nothrow);
  if (ec) co_return;
  spdlog::warn("received signal {} again: exiting without waiting for {} sessions", signal,
               state_.live_sessions());
  ioc_.stop();
}

asio::awaitable<void> server::drain(int signal) {
  auto const timeout = state_.cfg().shutdown_timeout;
  spdlog::info("received signal {}: draining {} sessions, waiting up to {} ms", signal, state_.live_sessions(),
               timeout.count());
  state_.set_draining();
  listener_.stop();
  // The last session to end wakes this coroutine by cancelling the timer on our strand.
  state_.set_idle_callback([this] { asio::post(strand_, [this] { drain_timer_.cancel(); }); });
  state_.rooms().drain(boost::beast::websocket::close_code::going_away, "going away");
  drain_timer_.expires_after(timeout);
  while (state_.live_sessions() > 0) {
    auto [ec] = co_await drain_timer_.async_wait(nothrow);
    if (!ec) {
      spdlog::warn("shutdown timeout after {} ms: {} sessions still open; exiting anyway", timeout.count(),
                   state_.live_sessions());
      break;
    }
  }
  spdlog::info("shut down");
  signals_.cancel();
  ioc_.stop();
}

} // namespace crier
