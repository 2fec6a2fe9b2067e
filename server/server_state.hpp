#pragma once
// What every connection of one server shares: the configuration, the rooms, and the count of live
// WebSocket sessions that the shutdown drain waits on.

#include "common/config.hpp"
#include "server/room_registry.hpp"

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace crier {

// Thread-safe.
class server_state {
public:
  explicit server_state(config cfg)
    : config_(std::move(cfg)),
      rooms_(room_settings{config_.history, config_.empty_room_ttl, config_.max_empty_rooms}) {}

  config const& cfg() const noexcept { return config_; }
  room_registry& rooms() noexcept { return rooms_; }

  void session_started() noexcept { sessions_.fetch_add(1, std::memory_order_relaxed); }
  void session_ended();
  std::size_t live_sessions() const noexcept { return sessions_.load(std::memory_order_acquire); }

  // Readiness for /readyz: nullopt when new sessions are welcome, otherwise why not.
  std::optional<std::string> not_ready_reason() const;
  void set_draining() noexcept { draining_.store(true, std::memory_order_release); }

  // Called once the session count reaches zero, from whichever thread ended the last session.
  // Cleared with an empty function before the io_context goes away.
  void set_idle_callback(std::function<void()> f);

private:
  config const config_;
  room_registry rooms_;
  std::atomic<std::size_t> sessions_{0};
  std::atomic<bool> draining_{false};
  std::mutex callback_mutex_;
  std::function<void()> on_idle_;
};

} // namespace crier
