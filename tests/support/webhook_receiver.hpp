#pragma once
// A webhook receiver for tests: a Beast HTTP server on 127.0.0.1 (a free port) on a thread of its
// own (or https, with a certificate), keeping every request it gets (body, signature and timestamp headers) and answering each
// with the status the test sets, 200 by default. Connections are kept alive as crier asks.

#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace crier::test {

using namespace std::chrono_literals;

class webhook_receiver {
public:
  webhook_receiver();
  // Serves https with this certificate chain and key (PEM files).
  webhook_receiver(std::string const& cert_file, std::string const& key_file);
  ~webhook_receiver();
  webhook_receiver(webhook_receiver const&) = delete;
  webhook_receiver& operator=(webhook_receiver const&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  std::string url() const { return (tls_ ? "https" : "http") + std::string("://127.0.0.1:") + std::to_string(port_) + "/hooks"; }

  // The status of the answers from now on.
  void answer(unsigned status) { status_.store(status); }

  struct request {
    std::string method, target, content_type, timestamp, signature, body;
    unsigned answered = 0;
  };
  std::vector<request> requests() const;
  // The events of every request (answered 2xx only, when `acknowledged`), in the order received.
  std::vector<boost::json::object> events(bool acknowledged = true) const;
  // Waits until `done(events(acknowledged))` holds or `timeout` passes; returns whether it held.
  bool wait_until(std::function<bool(std::vector<boost::json::object> const&)> const& done,
                  std::chrono::milliseconds timeout = 10s, bool acknowledged = true) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::uint16_t port_ = 0;
  bool tls_ = false;
  std::atomic<unsigned> status_{200};
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<request> requests_;
};

// The X-Crier-Signature a receiver expects for `body` at `timestamp`, computed here with OpenSSL
// directly, independently of the server's code.
std::string expected_signature(std::string const& secret, std::string const& timestamp, std::string const& body);

} // namespace crier::test
