#include "server/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include "server/logging.hpp"
#include "server/net.hpp"
#include "server/session/send_ring.hpp"
#include "server/session/wake_list.hpp"

#include <algorithm>
#include <csignal>
#include <thread>
#include <vector>

namespace crier {

namespace {

std::string url_host(asio::ip::address const& a) {
  return a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
}

std::vector<std::unique_ptr<asio::io_context>> make_workers(unsigned threads) {
  std::vector<std::unique_ptr<asio::io_context>> workers;
  for (unsigned i = 1; i < threads; ++i) workers.push_back(std::make_unique<asio::io_context>(1));
  return workers;
}

// Every io_context that runs connections: the main one and the workers.
std::vector<asio::io_context*> all_contexts(asio::io_context& main,
                                            std::vector<std::unique_ptr<asio::io_context>> const& workers) {
  std::vector<asio::io_context*> out{&main};
  for (auto const& w : workers) out.push_back(w.get());
  return out;
}
} // namespace

server::server(config cfg)
  : state_(std::move(cfg)),
    workers_(make_workers(state_.cfg().threads)),
    ioc_(1),
    strand_(asio::make_strand(ioc_)),
    signals_(strand_, SIGINT, SIGTERM),
    drain_timer_(strand_),
    sweep_timer_(strand_),
    listener_(ioc_, all_contexts(ioc_, workers_), state_) {
  auto const& c = state_.cfg();
  if (auto* queue = state_.webhooks())
    webhooks_ = webhook_sender::create(
      ioc_, webhook_sender::settings{c.webhook, c.webhook_secret, c.webhook_batch_size, c.webhook_batch_delay,
                                     c.webhook_timeout, c.webhook_retry},
      *queue, state_.metrics());
  if (c.redis_url.empty()) return; // single-node: no broker, nothing on the hot path
  broker_ = broker::create(ioc_, broker::settings{c.redis, c.redis_heartbeat, c.history}, state_.rooms(), state_.metrics());
  state_.rooms().set_cluster(broker_.get(), broker_.get());
}

int server::run() {
  auto const& cfg = state_.cfg();
  log_info("crier starting", {{"version", CRIER_VERSION},
                               {"threads", cfg.threads},
                               {"batch_window_ms", batch_window_or_default(cfg).count()},
                               {"static_dir", cfg.static_dir.string()},
                               {"max_message_size", cfg.max_message_size},
                               {"max_queue_bytes", cfg.max_queue_bytes},
                               {"max_queue_messages", cfg.max_queue_messages},
                               {"slow_consumer", to_string(cfg.slow_consumer)},
                               {"max_connections", cfg.max_connections},
                               {"history", cfg.history},
                               {"tls", state_.tls() != nullptr ? "on" : "off"},
                               {"auth", cfg.auth_token.empty() ? "off" : "token"},
                               {"allowed_origins", cfg.allowed_origins.empty() ? "same-origin" : cfg.allowed_origins}});
  // Before any thread makes its ring: whether there will be one is decided once, and said once.
  if (cfg.io_uring) {
    auto const refused = send_ring::probe();
    if (refused.empty()) log_info("writes batched through io_uring");
    else log_warn("io_uring refused here: one send() per write (--io-uring off says this is meant)", {{"error", refused}});
    send_ring::enable(refused.empty());
  } else {
    send_ring::enable(false);
  }
  wake_list::set_batch_window(batch_window_or_default(cfg));
  auto const ep = listener_.local_endpoint();
  if (broker_) broker_->start();
  if (webhooks_) webhooks_->start();
  listener_.start();
  asio::co_spawn(strand_, handle_signals(), asio::detached);
  asio::co_spawn(strand_, sweep_rooms(), asio::detached);
  auto const scheme = state_.tls() != nullptr ? "https" : "http";
  log_info("listening on " + std::string(scheme) + "://" + url_host(ep.address()) + ":" + std::to_string(ep.port()));

  std::vector<std::jthread> threads;
  threads.reserve(workers_.size());
  for (auto& w : workers_) {
    threads.emplace_back([&ctx = *w] {
      // A worker has nothing to do until the listener hands it a connection: keep it running
      // until stop_all().
      auto guard = asio::make_work_guard(ctx);
      ctx.run();
    });
  }
  ioc_.run();
  stop_all(); // ioc_ stops only through stop_all(), but make sure
  for (auto& t : threads) t.join();
  // Sessions that outlived the drain are destroyed with the io_context; they must not post to it.
  state_.set_idle_callback({});
  if (broker_) broker_->abandon();
  state_.rooms().set_cluster(nullptr, nullptr);
  // After a second signal the drain did not close the webhook queue: closed now, so that what
  // those sessions report is counted as dropped instead of waking a sender that is going away.
  if (auto* queue = state_.webhooks()) queue->close();
  return 0;
}

asio::awaitable<void> server::handle_signals() {
  auto [ec, signal] = co_await signals_.async_wait(nothrow);
  if (ec) co_return;
  asio::co_spawn(strand_, drain(signal), asio::detached);
  // A second signal means the operator will not wait for the drain.
  std::tie(ec, signal) = co_await signals_.async_wait(nothrow);
  if (ec) co_return;
  log_warn("received a second signal: exiting without waiting", {{"signal", signal}, {"sessions", state_.live_sessions()}});
  stop_all();
}

asio::awaitable<void> server::sweep_rooms() {
  // Empty rooms keep their history for --empty-room-ttl; check a few times per TTL.
  auto const period = std::clamp<std::chrono::milliseconds>(state_.cfg().empty_room_ttl / 4,
                                                            std::chrono::milliseconds(100), std::chrono::seconds(30));
  for (;;) {
    sweep_timer_.expires_after(period);
    auto [ec] = co_await sweep_timer_.async_wait(nothrow);
    if (ec) co_return;
    if (auto const dropped = state_.rooms().sweep(); dropped > 0)
      log_debug("dropped empty rooms", {{"rooms", dropped}});
  }
}

asio::awaitable<void> server::drain(int signal) {
  auto const timeout = state_.cfg().shutdown_timeout;
  auto const deadline = std::chrono::steady_clock::now() + timeout;
  // Not ready first, so that anything that sees the log line also sees /readyz say 503.
  state_.set_draining();
  log_info("draining", {{"signal", signal}, {"sessions", state_.live_sessions()}, {"timeout_ms", timeout.count()}});
  listener_.stop();
  // The last session to end wakes this coroutine by cancelling the timer on our strand.
  state_.set_idle_callback([this] { asio::post(strand_, [this] { drain_timer_.cancel(); }); });
  state_.rooms().drain(boost::beast::websocket::close_code::going_away, "going away");
  drain_timer_.expires_after(timeout);
  while (state_.live_sessions() > 0) {
    auto [ec] = co_await drain_timer_.async_wait(nothrow);
    if (!ec) {
      log_warn("shutdown timeout: exiting with sessions still open",
               {{"timeout_ms", timeout.count()}, {"sessions", state_.live_sessions()}});
      break;
    }
  }
  signals_.cancel();
  sweep_timer_.cancel();
  if (broker_) {
    broker_->stop();
    // Let the broker's last commands (this node's departure) go out, briefly.
    drain_timer_.expires_after(std::chrono::milliseconds(200));
    co_await drain_timer_.async_wait(nothrow);
  }
  // Last: the sessions' leaves (and, with --redis, the rooms they vacated) are queued by now.
  // What is left at the deadline is dropped and counted.
  if (webhooks_) co_await webhooks_->drain(deadline);
  log_info("shut down"); // the last line
  stop_all();
}

void server::stop_all() {
  for (auto& w : workers_) w->stop();
  ioc_.stop();
}

} // namespace crier
