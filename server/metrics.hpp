#pragma once
// Counters for /metrics (Prometheus text exposition 0.0.4). Hot-path counters are relaxed
// atomics, each on its own cache line, bumped once per message or per written batch, never per
// recipient: fan-out adds the member count once per publish. Gauges (sessions, rooms, queued
// bytes, process figures) are read at scrape time instead of being maintained.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace crier {

enum class conn_outcome : std::uint8_t {
  accepted,
  rejected_origin,
  rejected_auth,      // no valid token (401)
  rejected_limit,
  handshake_failed,
  rejected_forbidden, // a valid token that does not allow the room (403)
  count_
};

// The server API's routes, as /metrics labels them.
enum class api_route : std::uint8_t {
  rooms,           // GET /api/rooms
  room,            // GET /api/rooms/<room>
  history,         // GET /api/rooms/<room>/history
  publish,         // POST /api/rooms/<room>/messages
  disconnect_room, // POST /api/rooms/<room>/disconnect
  disconnect_user, // POST /api/users/<user>/disconnect
  unknown,         // anything else under /api
  count_
};
std::string_view to_string(api_route r) noexcept;

struct metrics_gauges {
  std::size_t sessions = 0;      // WebSocket sessions and event streams
  std::size_t event_streams = 0; // of which event streams
  std::size_t rooms = 0;
  std::size_t queued_bytes = 0;
  bool ready = true;
  int redis_up = -1; // -1: no --redis; else 0 or 1
  bool webhooks = false; // --webhook-url: the webhook families are shown
  std::uint64_t io_uring_sends = 0;   // socket writes made through io_uring, since start
  std::uint64_t io_uring_submits = 0; // the system calls that made them
};

class metrics {
public:
  void connection(conn_outcome o) noexcept { bump(outcomes_[static_cast<std::size_t>(o)]); }
  // A session ended with `code` (0: no close frame either way, reported as 1006).
  void closed(std::uint16_t code) noexcept;
  void message_in(std::size_t bytes) noexcept {
    bump(messages_in_.v);
    bump(bytes_in_.v, bytes);
  }
  void fanout(std::size_t deliveries, std::size_t bytes) noexcept {
    bump(deliveries_.v, deliveries);
    bump(fanout_bytes_.v, bytes);
  }
  // One batch written: `messages` framed together and written in one socket write (or, where the
  // socket took part of it, its rest later). `compressed` of them went out with permessage-deflate,
  // `streamed` of those from a room's compression stream.
  void written(std::size_t messages, std::size_t bytes, std::size_t compressed = 0, std::size_t streamed = 0) noexcept {
    bump(batches_out_.v);
    bump(messages_out_.v, messages);
    bump(bytes_out_.v, bytes);
    if (compressed > 0) bump(compressed_out_.v, compressed);
    if (streamed > 0) bump(streamed_out_.v, streamed);
  }
  void slow_consumer_close() noexcept { bump(slow_closes_.v); }
  void slow_consumer_drops(std::size_t n) noexcept { bump(slow_drops_.v, n); }
  void rate_limited() noexcept { bump(rate_limited_.v); }
  // Binary messages an event stream could not carry (SSE is text): its subscriber misses them.
  void sse_skipped(std::size_t n) noexcept { bump(sse_skipped_.v, n); }
  void protocol_error() noexcept { bump(protocol_errors_.v); }
  // A message or request the member's token does not allow (publish, history, presence).
  void forbidden() noexcept { bump(forbidden_.v); }
  void http_request() noexcept { bump(http_requests_.v); }
  // One server API call and the status it was answered with.
  void api_call(api_route r, unsigned status) noexcept;
  void handshake_timeout() noexcept { bump(handshake_timeouts_.v); }
  void idle_timeout() noexcept { bump(idle_timeouts_.v); }
  // A session let its WebSocket stream go (+1) or made a new one, or ended parked (-1).
  void parked(int change) noexcept { parked_.fetch_add(change, std::memory_order_relaxed); }
  void accept_error() noexcept { bump(accept_errors_.v); }
  // --redis: text messages that went out without a seq (Redis unreachable), and seqs a node gave
  // up waiting for (lost, or trimmed from the stream).
  void redis_dropped(std::uint64_t n) noexcept { bump(redis_dropped_.v, n); }
  void redis_skipped(std::uint64_t n) noexcept { bump(redis_skipped_.v, n); }
  void redis_link_lost() noexcept { bump(redis_link_losses_.v); }
  // Text messages shown to their own node's members without a seq because Redis was slow to
  // give one (they may still reach the other nodes with it).
  void redis_late(std::uint64_t n) noexcept { bump(redis_late_.v, n); }
  std::uint64_t redis_dropped() const noexcept { return redis_dropped_.v.load(std::memory_order_relaxed); }
  // --webhook-url: events acknowledged by the receiver, events sent again after a failed request,
  // events dropped (the queue's oldest past its bound, or left at shutdown), the queue's length,
  // and each request's duration (connect to answer, failures included).
  void webhook_sent(std::uint64_t n) noexcept { bump(webhook_sent_.v, n); }
  void webhook_retried(std::uint64_t n) noexcept { bump(webhook_retried_.v, n); }
  void webhook_dropped(std::uint64_t n) noexcept { bump(webhook_dropped_.v, n); }
  void webhook_queued(std::size_t n) noexcept { webhook_queued_.v.store(n, std::memory_order_relaxed); }
  void webhook_request(std::chrono::microseconds took) noexcept;
  std::uint64_t webhook_dropped() const noexcept { return webhook_dropped_.v.load(std::memory_order_relaxed); }

  std::string render(metrics_gauges const& g) const;

  // Test and bench access.
  std::uint64_t messages_in() const noexcept { return messages_in_.v.load(std::memory_order_relaxed); }
  std::uint64_t deliveries() const noexcept { return deliveries_.v.load(std::memory_order_relaxed); }

private:
  struct alignas(64) padded {
    std::atomic<std::uint64_t> v{0};
  };
  static void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
    c.fetch_add(n, std::memory_order_relaxed);
  }

  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(conn_outcome::count_)> outcomes_{};
  static constexpr std::array<std::uint16_t, 13> close_codes_{1000, 1001, 1002, 1003, 1005, 1006, 1007,
                                                              1008, 1009, 1010, 1011, 1012, 1013};
  std::array<std::atomic<std::uint64_t>, close_codes_.size() + 1> closes_{}; // the last: any other code
  padded messages_in_, bytes_in_, deliveries_, fanout_bytes_, messages_out_, bytes_out_, compressed_out_, streamed_out_;
  padded batches_out_;
  padded slow_closes_, slow_drops_, rate_limited_, protocol_errors_, forbidden_, http_requests_;
  padded handshake_timeouts_, idle_timeouts_, accept_errors_, sse_skipped_;
  padded redis_dropped_, redis_skipped_, redis_link_losses_, redis_late_;
  padded webhook_sent_, webhook_retried_, webhook_dropped_, webhook_queued_;
  // The request duration histogram: seconds, each bucket counted alone (render() accumulates).
  static constexpr std::array<double, 11> webhook_buckets_{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  std::array<std::atomic<std::uint64_t>, webhook_buckets_.size() + 1> webhook_durations_{}; // the last: +Inf
  std::atomic<std::uint64_t> webhook_duration_us_{0};
  std::atomic<std::int64_t> parked_{0}; // a gauge, kept here because the sessions move it
  // By route, then by status: the statuses the API answers, and one for any other.
  static constexpr std::array<unsigned, 8> api_statuses_{200, 400, 401, 404, 405, 413, 503, 0};
  std::array<std::array<std::atomic<std::uint64_t>, api_statuses_.size()>, static_cast<std::size_t>(api_route::count_)>
    api_calls_{};
};

} // namespace crier
