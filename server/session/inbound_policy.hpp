#pragma once
// What a session allows a client to send: the --rate-limit token bucket and the bound on protocol
// errors. Pure logic on a given `now`, so that tests can drive time; the session decides what a
// refusal does (drop, error event, close).

#include <array>
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>

namespace crier {

using inbound_clock = std::chrono::steady_clock;

// The token bucket of --rate-limit and --rate-burst: `rate` messages a second, `burst` at once.
// The rate and the burst are the server's, the same for every session, so they stay in the config
// and are passed in: a bucket is 16 bytes per connection rather than 32.
class token_bucket {
public:
  token_bucket(double burst, inbound_clock::time_point now) noexcept : tokens_(burst), refilled_(now) {}

  // Refills the bucket for the time since the last call and takes one token for a message:
  // false when there is none. Inline: it runs for every message a rate-limited client sends.
  bool take(double rate, double burst, inbound_clock::time_point now) noexcept {
    std::chrono::duration<double> const elapsed = now - refilled_;
    refilled_ = now;
    tokens_ = std::min(burst, tokens_ + elapsed.count() * rate);
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

private:
  double tokens_;
  inbound_clock::time_point refilled_;
};

// Protocol errors a client may make: ten within a minute are answered with error events, the
// eleventh is one too many. A well-behaved client never errs, so the times are kept only from
// the first error on.
class error_window {
public:
  static constexpr std::size_t allowed = 10;
  static constexpr std::chrono::minutes window{1};

  // Notes an error at `now`: false when it is the eleventh within a minute of the first of the
  // last ten.
  bool note(inbound_clock::time_point now);

private:
  // A ring of the last ten error times, made at the first error.
  std::unique_ptr<std::array<inbound_clock::time_point, allowed>> times_;
  std::size_t count_ = 0;
};

} // namespace crier
