#pragma once
// What every connection of one server shares: the configuration, the rooms, the metrics, the TLS
// context, and the count of live WebSocket sessions that the connection limit and the shutdown
// drain use.

#include "common/config.hpp"
#include "common/token.hpp"
#include "server/events/webhook_queue.hpp"
#include "server/metrics.hpp"
#include "server/rooms/room_registry.hpp"

#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace crier {

// Thread-safe.
class server_state {
public:
  // Loads the TLS certificate and key when configured; throws std::runtime_error naming the file
  // that cannot be used.
  explicit server_state(config cfg);

  config const& cfg() const noexcept { return config_; }
  room_registry& rooms() noexcept { return rooms_; }
  crier::metrics& metrics() noexcept { return metrics_; }
  // Checks signed tokens; enabled() only when --token-secret or --token-public-key is set.
  token_verifier const& tokens() const noexcept { return tokens_; }
  // The webhooks' queue, which rooms report to; nullptr without --webhook-url.
  webhook_queue* webhooks() noexcept { return webhooks_.get(); }
  // nullptr when TLS is off.
  boost::asio::ssl::context* tls() noexcept { return tls_.get(); }

  // Takes a session slot unless --max-connections are open already.
  bool try_reserve_session() noexcept;
  // Gives back a slot that try_reserve_session() took, when the session ends or never starts.
  void session_ended();
  std::size_t live_sessions() const noexcept { return sessions_.load(std::memory_order_acquire); }
  // Of the sessions, those that are event streams (/sse/<room>), for their own gauge.
  void event_stream_opened() noexcept { event_streams_.fetch_add(1, std::memory_order_relaxed); }
  void event_stream_closed() noexcept { event_streams_.fetch_sub(1, std::memory_order_relaxed); }

  // Readiness for /readyz: nullopt when new sessions are welcome, otherwise why not.
  std::optional<std::string> not_ready_reason() const;
  void set_draining() noexcept { draining_.store(true, std::memory_order_release); }

  // The gauges /metrics reads at scrape time.
  metrics_gauges gauges();

  // Called once the session count reaches zero, from whichever thread ended the last session.
  // Cleared with an empty function before the io_context goes away.
  void set_idle_callback(std::function<void()> f);

private:
  config const config_;
  room_registry rooms_;
  crier::metrics metrics_;
  token_verifier const tokens_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  // After rooms_ and metrics_, which it reports to and is reported to by.
  std::unique_ptr<webhook_queue> webhooks_;
  std::atomic<std::size_t> sessions_{0};
  std::atomic<std::size_t> event_streams_{0};
  std::atomic<bool> draining_{false};
  std::mutex callback_mutex_;
  std::function<void()> on_idle_;
};

} // namespace crier
