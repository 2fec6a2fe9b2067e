#pragma once
// The server's configuration: every command-line flag, its CRIER_* environment twin, its default,
// and the validation that turns a bad value into exit status 2 with a message naming the flag.

#include "common/events.hpp"
#include "common/http_url.hpp"
#include "common/policies.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>
#include <string>
#include <variant>

namespace crier {

// Where Redis is, from --redis redis://HOST:PORT[/DB].
struct redis_endpoint {
  std::string host;
  std::uint16_t port = 6379;
  unsigned db = 0;
};

// Parses redis://HOST:PORT[/DB] (HOST a name, an IPv4 address or a bracketed IPv6 one; the port
// defaults to 6379). nullopt when it is not such a URL.
std::optional<redis_endpoint> parse_redis_url(std::string_view url);

struct config {
  std::string address = "0.0.0.0";
  std::uint16_t port = 8080;
  unsigned threads = 1;
  // Each thread hands the small writes of a broadcast's wake-ups to the kernel 32 per system call
  // (io_uring) where the kernel allows it; off (the default): one send() per write. Off by
  // default until the whole benchmark has run with it (docs/performance.md).
  bool io_uring = false;
  // The least time between two rounds of a thread's broadcast writes; what is published within it
  // goes out in the same writes. 0: each round as soon as the thread is free. Unset: 1 ms with
  // io_uring, whose cheaper rounds would otherwise carry fewer messages each, 0 without
  // (batch_window_or_default).
  std::optional<std::chrono::milliseconds> batch_window;
  std::filesystem::path static_dir;
  std::string log_level = "info";
  std::size_t max_message_size = 64 * 1024;
  std::chrono::milliseconds shutdown_timeout{10'000};

  // Rooms and their history.
  std::size_t history = 100;
  std::chrono::milliseconds empty_room_ttl{3'600'000};
  std::size_t max_empty_rooms = 1000;

  // Bounds and policies. Each has a flag, a CRIER_* twin and a metric, so an operator can both
  // set a bound and see when it bites.
  std::size_t max_queue_bytes = 4 * 1024 * 1024;
  std::size_t max_queue_messages = 4096;
  overflow_policy slow_consumer = overflow_policy::close;
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds ping_interval{25'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds close_timeout{5'000};
  // A plain WebSocket connection gives back Beast's stream state once its handshake is done and
  // whenever it is quiet this long, until it has something for Beast again; 0 keeps the state
  // for the connection's life.
  std::chrono::milliseconds park_after{1'000};
  std::size_t max_connections = 10'000;
  double rate_limit = 0; // messages per second per connection; 0 = off
  double rate_burst = 0; // 0 = same as the rate
  rate_policy rate_limit_action = rate_policy::close;
  std::size_t max_rooms = 10'000;
  // Big rooms: past this many members, presence is counted and sent at most once per interval.
  std::size_t presence_threshold = 100;

  // permessage-deflate (RFC 7692): offered by browsers and most clients. Each broadcast is
  // compressed once and shared by every member that took it.
  bool compression = true;
  std::size_t compression_min_size = 128; // smaller messages go out plain
  int compression_level = 1;
  // Members of one room and format whose clients let the server keep its compression context
  // before the room compresses their broadcasts as one stream; 0: every message on its own.
  std::size_t compression_context_members = 16;

  // Who may connect.
  std::string allowed_origins; // empty: no Origin, or the Origin of the Host itself; "*": any
  std::string auth_token;      // empty: no token required
  // Signed per-user tokens (common/token.hpp). With a secret or a public key configured, every
  // upgrade needs a valid token, and --auth-token no longer opens WebSockets.
  std::string token_secret;
  std::filesystem::path token_public_key;
  std::string token_public_key_pem; // the file's contents, read and checked while parsing
  std::string token_issuer;         // empty: iss is not checked
  std::string token_audience;       // empty: aud is not checked
  std::chrono::seconds token_leeway{30};
  // The server API's write endpoints (publish, disconnect); empty: they answer 404.
  std::string api_key;
  std::filesystem::path tls_cert;
  std::filesystem::path tls_key;

  // Operations.
  log_encoding log_format = log_encoding::text;

  // Scale-out: empty redis_url keeps the server single-node.
  std::string redis_url;
  redis_endpoint redis;
  std::chrono::milliseconds redis_heartbeat{5'000};

  // Webhooks (server/events, docs/webhooks.md): an empty webhook_url turns them off.
  std::string webhook_url;
  http_url webhook; // webhook_url, taken apart
  std::string webhook_secret; // the HMAC key of every request's signature; never logged
  event_set webhook_events = default_webhook_events;
  std::size_t webhook_batch_size = 100;               // events per request at most
  std::chrono::milliseconds webhook_batch_delay{100}; // how long the first event waits for others
  std::chrono::milliseconds webhook_timeout{5'000};   // one request, connect to answer
  std::chrono::milliseconds webhook_retry{1'000};     // the first retry's delay; doubles, with jitter
  std::size_t webhook_queue = 10'000;                 // events waiting; past it the oldest are dropped
};

// --batch-window as given, or its default for --io-uring.
std::chrono::milliseconds batch_window_or_default(config const& cfg);

// What parsing decided when the server should not run: --help, --version, or a bad flag.
struct early_exit {
  int status = 0;
  std::string output; // for stdout when status is 0, for stderr otherwise
};

// Exit status for a bad flag or value: 2, the usage error of most command-line tools, so that a
// script or supervisor can tell a mistyped flag from a failure at run time (1).
inline constexpr int exit_usage = 2;

// Parses argv and the CRIER_* environment. Flags win over the environment.
std::variant<config, early_exit> parse_command_line(int argc, char const* const* argv);

// The static/ directory next to the installed binary or, failing that, the source tree's.
std::filesystem::path default_static_dir();

std::string version_string();

} // namespace crier
