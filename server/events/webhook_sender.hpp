#pragma once
// Delivers the webhook queue to --webhook-url: one coroutine on a strand of its own, one request
// at a time over one kept-alive connection (Beast's HTTP client, TLS through OpenSSL for https,
// the certificate checked against the system's roots and the URL's host). A request carries up
// to --webhook-batch-size of the oldest events, after waiting up to --webhook-batch-delay for
// them to gather, and is signed (webhook_signature.hpp). A 2xx acknowledges its events; anything
// else, an error or --webhook-timeout sends the oldest events again after a backoff: delivery is
// at least once, and the event ids let the receiver drop the repeats.
//
// Rooms never wait for it: they only append to the queue, which wakes this through a post.

#include "common/http_url.hpp"
#include "server/events/webhook_queue.hpp"
#include "server/net.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace crier {

class metrics;

// The delay before retry number `attempt` (0 for the first) of a request that failed: `base`
// doubled per attempt up to a cap of 64 times `base` (at most a minute, never less than `base`),
// then a random point between half of that and all of it (`jitter` in [0, 1)), so that nodes
// that failed together do not retry together.
std::chrono::milliseconds webhook_retry_delay(std::chrono::milliseconds base, unsigned attempt, double jitter);

class webhook_sender : public std::enable_shared_from_this<webhook_sender> {
public:
  struct settings {
    http_url url;
    std::string secret;
    std::size_t batch_size = 100;
    std::chrono::milliseconds batch_delay{100};
    std::chrono::milliseconds timeout{5'000};
    std::chrono::milliseconds retry{1'000};
  };

  static std::shared_ptr<webhook_sender> create(asio::io_context& ioc, settings s, webhook_queue& queue, metrics& m);
  webhook_sender(webhook_sender const&) = delete;
  webhook_sender& operator=(webhook_sender const&) = delete;

  void start();
  // Shutdown: sends what is queued without waiting to batch, until the queue is empty or
  // `deadline`; then closes the queue, dropping (and counting, and logging) what is left.
  // Completes on the caller's executor.
  asio::awaitable<void> drain(std::chrono::steady_clock::time_point deadline);

  // This process's part of every event id (webhook_event_id).
  std::string const& boot_id() const noexcept { return boot_; }

private:
  webhook_sender(asio::io_context& ioc, settings s, webhook_queue& queue, metrics& m);

  // All below run on strand_.
  asio::awaitable<void> run();
  asio::awaitable<void> drain_here(std::chrono::steady_clock::time_point deadline);
  struct answer {
    unsigned status = 0; // 0: none came
    std::string error;   // why, when none came
  };
  asio::awaitable<answer> post(std::string body);
  asio::awaitable<std::string> connect(); // empty on success, else what failed
  template <class Stream>
  asio::awaitable<answer> exchange(Stream& stream, std::string body);
  void close_connection();
  // How long the next request may take: --webhook-timeout, less once draining.
  std::chrono::milliseconds request_budget() const;

  settings const settings_;
  webhook_queue& queue_;
  metrics& metrics_;
  std::string const boot_;
  asio::strand<asio::io_context::executor_type> strand_;
  asio::ssl::context tls_context_;
  asio::ip::tcp::resolver resolver_;
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
  // A timer used as a condition variable: the queue's wake-up cancels it.
  asio::steady_timer wake_;
  asio::steady_timer backoff_;
  asio::steady_timer done_; // drain() waits on it; run() cancels it when it ends
  bool running_ = false;
  bool failing_ = false; // logged once per run of failures
  bool stopping_ = false;
  bool give_up_ = false;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
};

} // namespace crier
