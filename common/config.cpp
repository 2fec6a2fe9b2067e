#include "common/config.hpp"

#include "common/text.hpp"
#include "common/token.hpp"
#include "common/units.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>

#include <fstream>
#include <thread>

namespace crier {
namespace {

// Reads a validated string option back into its typed field after parsing.
template <class T, class Parse>
void convert(std::string const& text, T& out, Parse parse) {
  if (!text.empty()) out = static_cast<T>(*parse(text));
}

CLI::Validator size_validator() {
  return CLI::Validator(
    [](std::string& value) -> std::string {
      auto v = parse_size(value);
      if (!v || *v == 0) return "'" + value + "' is not a size in bytes (e.g. 65536, 64KiB, 1MiB)";
      return {};
    },
    "BYTES");
}

CLI::Validator duration_validator() {
  return CLI::Validator(
    [](std::string& value) -> std::string {
      if (!parse_duration(value)) return "'" + value + "' is not a duration (e.g. 10, 10s, 500ms)";
      return {};
    },
    "SECONDS");
}

CLI::Validator address_validator() {
  return CLI::Validator(
    [](std::string& value) -> std::string {
      boost::system::error_code ec;
      boost::asio::ip::make_address(value, ec);
      if (ec) return "'" + value + "' is not an IPv4 or IPv6 address";
      return {};
    },
    "ADDR");
}

CLI::Validator directory_validator() {
  return CLI::Validator(
    [](std::string& value) -> std::string {
      std::error_code ec;
      if (!std::filesystem::is_directory(value, ec)) return "'" + value + "' is not a directory";
      return {};
    },
    "DIR");
}

// A flag that takes one of `names`: CLI11 checks the text against them (its message names the flag
// and the accepted values), and choice() turns it into the enum once parsing is done.
template <std::size_t N>
CLI::IsMember one_of(std::array<std::string_view, N> const& names) {
  return CLI::IsMember(std::vector<std::string>(names.begin(), names.end()));
}

template <class Enum, std::size_t N>
Enum choice(std::string_view text, std::array<std::string_view, N> const& names) {
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == text) return static_cast<Enum>(i);
  return Enum{}; // not reached: one_of() has refused anything else
}

struct file_contents {
  std::string text;
};

// A key file, read whole. Only regular files: a FIFO or a device would block or never end.
std::variant<file_contents, std::string> read_small_file(std::filesystem::path const& path) {
  constexpr std::size_t limit = 64 * 1024; // a PEM public key is a few KiB at most
  std::error_code ec;
  auto const status = std::filesystem::status(path, ec);
  if (ec) return ec.message();
  if (!std::filesystem::is_regular_file(status)) return std::string("not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::string("cannot open it");
  file_contents out;
  out.text.resize(limit + 1);
  in.read(out.text.data(), static_cast<std::streamsize>(out.text.size()));
  if (in.bad()) return std::string("read error");
  out.text.resize(static_cast<std::size_t>(in.gcount()));
  if (out.text.size() > limit) return std::string("larger than 64KiB, too large for a public key");
  return out;
}


} // namespace

std::optional<redis_endpoint> parse_redis_url(std::string_view url) {
  constexpr std::string_view scheme = "redis://";
  if (!url.starts_with(scheme)) return std::nullopt;
  url.remove_prefix(scheme.size());
  redis_endpoint ep;
  if (auto slash = url.find('/'); slash != std::string_view::npos) {
    auto const db = url.substr(slash + 1);
    url = url.substr(0, slash);
    if (!db.empty()) {
      if (db.size() > 5 || db.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
      ep.db = static_cast<unsigned>(std::stoul(std::string(db)));
    }
  }
  std::string_view port;
  if (url.starts_with('[')) { // [IPv6]:port
    auto const close = url.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    ep.host = std::string(url.substr(1, close - 1));
    auto rest = url.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else {
    auto const colon = url.rfind(':');
    ep.host = std::string(url.substr(0, colon));
    if (colon != std::string_view::npos) port = url.substr(colon + 1);
    // Credentials (user:pass@) are not supported: say so rather than misparse them.
    if (ep.host.find_first_of("@:") != std::string::npos) return std::nullopt;
  }
  if (ep.host.empty()) return std::nullopt;
  if (port.data() != nullptr) {
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
      return std::nullopt;
    auto const p = std::stoul(std::string(port));
    if (p == 0 || p > 65535) return std::nullopt;
    ep.port = static_cast<std::uint16_t>(p);
  }
  return ep;
}

std::string version_string() { return CRIER_VERSION; }

std::chrono::milliseconds batch_window_or_default(config const& cfg) {
  using namespace std::chrono_literals;
  return cfg.batch_window.value_or(cfg.io_uring ? 1ms : 0ms);
}

std::filesystem::path default_static_dir() {
  std::error_code ec;
  auto const exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto installed = exe.parent_path().parent_path() / CRIER_INSTALL_STATIC_SUBDIR;
    if (std::filesystem::is_directory(installed, ec)) return installed;
  }
  return CRIER_SOURCE_STATIC_DIR;
}

std::variant<config, early_exit> parse_command_line(int argc, char const* const* argv) {
  config cfg;
  cfg.threads = std::max(1U, std::thread::hardware_concurrency());

  CLI::App app{"crier: a WebSocket chat-broadcast server. Every flag can also be set through the "
               "environment variable named in brackets; a flag wins over its variable.",
               "crier"};
  app.set_version_flag("--version", "crier " + version_string(), "Print the version and exit");
  app.get_formatter()->column_width(40);

  std::string max_message_size, shutdown_timeout, static_dir, empty_room_ttl;
  std::string max_queue_bytes, handshake_timeout, ping_interval, idle_timeout, close_timeout, park_after, batch_window, tls_cert,
    tls_key;
  app.add_option("--address", cfg.address, "Address to listen on (IPv4 or IPv6)")
    ->envname("CRIER_ADDRESS")
    ->check(address_validator())
    ->capture_default_str();
  app.add_option("--port", cfg.port, "TCP port to listen on; 0 picks a free one")
    ->envname("CRIER_PORT")
    ->check(CLI::Range(0, 65535))
    ->capture_default_str();
  app.add_option("--threads", cfg.threads, "Threads running the event loop (default: number of cores)")
    ->envname("CRIER_THREADS")
    ->check(CLI::Range(1, 1024))
    ->capture_default_str();
  std::string io_uring = "off";
  app.add_option("--io-uring", io_uring,
                 "Batch a broadcast's small socket writes into one system call per 32 through io_uring: on or "
                 "off. Saves about a third of the CPU per delivery, with --batch-window's 1ms; where the kernel "
                 "refuses io_uring, crier says so at start and sends one write at a time")
    ->envname("CRIER_IO_URING")
    ->check(CLI::IsMember({"on", "off"}))
    ->capture_default_str();
  app.add_option("--batch-window", batch_window,
                 "Least time between two rounds of a thread's broadcast writes: what is published within it goes "
                 "out in the same writes, so a busy room writes several messages per system call; a round that "
                 "comes later, a message of 2KiB or more and a close never wait. 0 writes as soon as the thread is "
                 "free; at most 1s")
    ->envname("CRIER_BATCH_WINDOW")
    ->check(duration_validator())
    ->default_str("1ms with --io-uring on, else 0");
  app.add_option("--static-dir", static_dir, "Directory the page is served from")
    ->envname("CRIER_STATIC_DIR")
    ->check(directory_validator())
    ->default_str(default_static_dir().string());
  app.add_option("--log-level", cfg.log_level, "Log level")
    ->envname("CRIER_LOG_LEVEL")
    ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
    ->capture_default_str();
  app.add_option("--max-message-size", max_message_size,
                 "Largest message a client may send; larger ones are closed with 1009")
    ->envname("CRIER_MAX_MESSAGE_SIZE")
    ->check(size_validator())
    ->default_str("64KiB");
  app.add_option("--shutdown-timeout", shutdown_timeout,
                 "On SIGINT/SIGTERM, how long to wait for sessions to close before exiting")
    ->envname("CRIER_SHUTDOWN_TIMEOUT")
    ->check(duration_validator())
    ->default_str("10s");

  app.add_option("--history", cfg.history,
                 "Messages each room keeps for welcome, history paging and resume; 0 turns history off")
    ->envname("CRIER_HISTORY")
    ->check(CLI::Range(0, 100000))
    ->capture_default_str();
  app.add_option("--empty-room-ttl", empty_room_ttl,
                 "How long a room with no members keeps its history before it is dropped")
    ->envname("CRIER_EMPTY_ROOM_TTL")
    ->check(duration_validator())
    ->default_str("1h");
  app.add_option("--max-empty-rooms", cfg.max_empty_rooms,
                 "How many rooms with no members keep their history; past this the longest-empty go first")
    ->envname("CRIER_MAX_EMPTY_ROOMS")
    ->check(CLI::Range(0, 10000000))
    ->capture_default_str();

  // Bounds and policies.
  app.add_option("--max-queue-bytes", max_queue_bytes, "Outbound bytes queued per session before --slow-consumer applies")
    ->envname("CRIER_MAX_QUEUE_BYTES")
    ->check(size_validator())
    ->default_str("4MiB");
  app.add_option("--max-queue-messages", cfg.max_queue_messages,
                 "Outbound messages queued per session before --slow-consumer applies")
    ->envname("CRIER_MAX_QUEUE_MESSAGES")
    ->check(CLI::Range(1, 10'000'000))
    ->capture_default_str();
  std::string slow_consumer{to_string(cfg.slow_consumer)};
  app.add_option("--slow-consumer", slow_consumer,
                 "What happens to a session past its queue bounds: close (1008) or drop-oldest")
    ->envname("CRIER_SLOW_CONSUMER")
    ->check(one_of(overflow_policy_names))
    ->capture_default_str();
  app.add_option("--handshake-timeout", handshake_timeout,
                 "Time allowed for an HTTP request and the WebSocket handshake (drops slowloris clients)")
    ->envname("CRIER_HANDSHAKE_TIMEOUT")
    ->check(duration_validator())
    ->default_str("10s");
  app.add_option("--ping-interval", ping_interval, "How often an idle session is pinged; 0 turns pings off")
    ->envname("CRIER_PING_INTERVAL")
    ->check(duration_validator())
    ->default_str("25s");
  app.add_option("--idle-timeout", idle_timeout,
                 "A session that sends nothing (not even a pong) for this long is closed; 0 turns it off")
    ->envname("CRIER_IDLE_TIMEOUT")
    ->check(duration_validator())
    ->default_str("60s");
  app.add_option("--close-timeout", close_timeout, "How long to wait for the peer's answer to a close frame")
    ->envname("CRIER_CLOSE_TIMEOUT")
    ->check(duration_validator())
    ->default_str("5s");
  app.add_option("--park-after", park_after,
                 "A plain (non-TLS, uncompressed) WebSocket connection gives back the WebSocket stream's memory (about "
                 "2.6 KB) once its handshake is done and whenever it has sent nothing for this long, until it next has a "
                 "frame to read, a ping or a close; 0 keeps it")
    ->envname("CRIER_PARK_AFTER")
    ->check(duration_validator())
    ->default_str("1s");
  app.add_option("--max-connections", cfg.max_connections,
                 "WebSocket sessions at once; past it an upgrade gets 503 (plain HTTP still works)")
    ->envname("CRIER_MAX_CONNECTIONS")
    ->check(CLI::Range(1, 10'000'000))
    ->capture_default_str();
  app.add_option("--rate-limit", cfg.rate_limit, "Messages per second each connection may send; 0 turns it off")
    ->envname("CRIER_RATE_LIMIT")
    ->check(CLI::Range(0.0, 1e9))
    ->default_str("0");
  app.add_option("--rate-burst", cfg.rate_burst, "Messages a connection may send at once above the rate (default: the rate)")
    ->envname("CRIER_RATE_BURST")
    ->check(CLI::Range(0.0, 1e9))
    ->default_str("rate");
  std::string rate_limit_action{to_string(cfg.rate_limit_action)};
  app.add_option("--rate-limit-action", rate_limit_action,
                 "Past the burst: close (1008), or drop the message (JSON clients get an error event)")
    ->envname("CRIER_RATE_LIMIT_ACTION")
    ->check(one_of(rate_policy_names))
    ->capture_default_str();
  app.add_option("--max-rooms", cfg.max_rooms, "Rooms at once; a join that would create one more gets 503")
    ->envname("CRIER_MAX_ROOMS")
    ->check(CLI::Range(1, 10'000'000))
    ->capture_default_str();
  app.add_option("--presence-threshold", cfg.presence_threshold,
                 "Members past which a room is big: join/leave become one counted presence event per 100ms, "
                 "and welcome lists at most this many members (the rest are paged)")
    ->envname("CRIER_PRESENCE_THRESHOLD")
    ->check(CLI::Range(1, 10'000'000))
    ->capture_default_str();

  // Compression.
  std::string compression = "on", compression_min_size;
  app.add_option("--compression", compression,
                 "permessage-deflate for clients that offer it: on or off. Each broadcast is compressed once")
    ->envname("CRIER_COMPRESSION")
    ->check(CLI::IsMember({"on", "off"}))
    ->capture_default_str();
  app.add_option("--compression-min-size", compression_min_size,
                 "Messages smaller than this go out uncompressed; 0 compresses all that shrink")
    ->envname("CRIER_COMPRESSION_MIN_SIZE")
    ->check(CLI::Validator(
      [](std::string& value) -> std::string {
        if (!parse_size(value)) return "'" + value + "' is not a size in bytes (e.g. 128, 1KiB)";
        return {};
      },
      "BYTES"))
    ->default_str(std::to_string(cfg.compression_min_size));
  app.add_option("--compression-level", cfg.compression_level,
                 "zlib level for what the server compresses: 1 is fastest, 9 smallest")
    ->envname("CRIER_COMPRESSION_LEVEL")
    ->check(CLI::Range(1, 9))
    ->capture_default_str();
  app.add_option("--compression-context-members", cfg.compression_context_members,
                 "A room compresses its messages as one stream (smaller: each refers to the words of the ones "
                 "before; ~256 KiB per room) once this many of its members' clients allow it; 0: every message "
                 "on its own, and every answer says server_no_context_takeover")
    ->envname("CRIER_COMPRESSION_CONTEXT_MEMBERS")
    ->check(CLI::Range(0, 1'000'000))
    ->capture_default_str();

  // Who may connect.
  app.add_option("--allowed-origins", cfg.allowed_origins,
                 "Comma-separated origins allowed to open WebSockets, or *. Default: requests with no Origin "
                 "and the server's own origin")
    ->envname("CRIER_ALLOWED_ORIGINS");
  app.add_option("--auth-token", cfg.auth_token,
                 "Require 'Authorization: Bearer TOKEN' or ?token=TOKEN on upgrades and /api/* (prefer the "
                 "environment variable: flags show in ps)")
    ->envname("CRIER_AUTH_TOKEN");
  std::string token_public_key, token_leeway;
  app.add_option("--token-secret", cfg.token_secret,
                 "HMAC secret for signed per-user tokens (HS256, HS384, HS512; crier token makes them): every "
                 "upgrade then needs a valid one (prefer the environment variable: flags show in ps)")
    ->envname("CRIER_TOKEN_SECRET");
  app.add_option("--token-public-key", token_public_key,
                 "PEM file with the RSA or EC public key that checks signed tokens (RS256/384/512, ES256/384/512)")
    ->envname("CRIER_TOKEN_PUBLIC_KEY");
  app.add_option("--token-issuer", cfg.token_issuer, "Signed tokens must carry this iss claim")
    ->envname("CRIER_TOKEN_ISSUER");
  app.add_option("--token-audience", cfg.token_audience,
                 "Signed tokens must carry this aud claim (a string, or an array that holds it)")
    ->envname("CRIER_TOKEN_AUDIENCE");
  app.add_option("--token-leeway", token_leeway, "Clock difference allowed when checking a token's exp and nbf")
    ->envname("CRIER_TOKEN_LEEWAY")
    ->check(duration_validator())
    ->default_str("30s");
  app.add_option("--api-key", cfg.api_key,
                 "Enables the server API's write endpoints, sent as Authorization: Bearer KEY (prefer the "
                 "environment variable: flags show in ps)")
    ->envname("CRIER_API_KEY");
  app.add_option("--tls-cert", tls_cert, "PEM certificate chain: serve https and wss on the port")
    ->envname("CRIER_TLS_CERT");
  app.add_option("--tls-key", tls_key, "PEM private key for --tls-cert")->envname("CRIER_TLS_KEY");

  // Operations.
  std::string log_format{to_string(cfg.log_format)};
  app.add_option("--log-format", log_format, "Log lines as text or as one JSON object per line")
    ->envname("CRIER_LOG_FORMAT")
    ->check(one_of(log_encoding_names))
    ->capture_default_str();

  // Scale-out.
  std::string redis_heartbeat;
  app.add_option("--redis", cfg.redis_url,
                 "redis://HOST:PORT[/DB]: share rooms, history and presence with every crier using this Redis")
    ->envname("CRIER_REDIS")
    ->check(CLI::Validator(
      [](std::string& value) -> std::string {
        if (!value.empty() && !parse_redis_url(value)) return "'" + value + "' is not a redis://HOST:PORT[/DB] URL";
        return {};
      },
      "URL"));
  app.add_option("--redis-heartbeat", redis_heartbeat,
                 "How often this node tells Redis it is alive; others announce its members' leave after 3 missed")
    ->envname("CRIER_REDIS_HEARTBEAT")
    ->check(duration_validator())
    ->default_str("5s");

  // Webhooks.
  std::string webhook_events, webhook_batch_delay, webhook_timeout, webhook_retry;
  app.add_option("--webhook-url", cfg.webhook_url,
                 "http:// or https:// URL that room events are POSTed to, batched and signed (docs/webhooks.md)")
    ->envname("CRIER_WEBHOOK_URL")
    ->check(CLI::Validator(
      [](std::string& value) -> std::string {
        if (value.empty()) return {};
        if (auto const parsed = parse_http_url(value); auto const* why = std::get_if<std::string>(&parsed))
          return "'" + value + "': " + *why;
        return {};
      },
      "URL"));
  app.add_option("--webhook-secret", cfg.webhook_secret,
                 "HMAC-SHA256 key of the X-Crier-Signature header; required with --webhook-url (prefer the "
                 "environment variable: flags show in ps)")
    ->envname("CRIER_WEBHOOK_SECRET");
  app.add_option("--webhook-events", webhook_events,
                 "Comma-separated events to send: join, leave, message, room_occupied, room_vacated")
    ->envname("CRIER_WEBHOOK_EVENTS")
    ->check(CLI::Validator(
      [](std::string& value) -> std::string {
        if (!event_set::parse(value))
          return "'" + value + "' is not a comma-separated list of join, leave, message, room_occupied, room_vacated";
        return {};
      },
      "LIST"))
    ->default_str("join,leave,room_occupied,room_vacated");
  app.add_option("--webhook-batch-size", cfg.webhook_batch_size, "Events per webhook request at most")
    ->envname("CRIER_WEBHOOK_BATCH_SIZE")
    ->check(CLI::Range(1, 10'000))
    ->capture_default_str();
  app.add_option("--webhook-batch-delay", webhook_batch_delay,
                 "How long an event waits for others to share its request; 0 sends at once")
    ->envname("CRIER_WEBHOOK_BATCH_DELAY")
    ->check(duration_validator())
    ->default_str("100ms");
  app.add_option("--webhook-timeout", webhook_timeout,
                 "Time for one webhook request, connect to answer; past it the request is retried")
    ->envname("CRIER_WEBHOOK_TIMEOUT")
    ->check(duration_validator())
    ->default_str("5s");
  app.add_option("--webhook-retry", webhook_retry,
                 "Delay before the first retry of a failed webhook request; it doubles on each failure (with "
                 "jitter) up to 64 times this, at most 1m")
    ->envname("CRIER_WEBHOOK_RETRY")
    ->check(duration_validator())
    ->default_str("1s");
  app.add_option("--webhook-queue", cfg.webhook_queue,
                 "Webhook events kept while the receiver is slow or down; past it the oldest are dropped")
    ->envname("CRIER_WEBHOOK_QUEUE")
    ->check(CLI::Range(1, 10'000'000))
    ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (CLI::CallForHelp const&) {
    return early_exit{0, app.help()};
  } catch (CLI::CallForVersion const&) {
    return early_exit{0, "crier " + version_string() + "\n"};
  } catch (CLI::ParseError const& e) {
    return early_exit{exit_usage, "crier: " + one_line(e.what()) + " (see crier --help)\n"};
  }

  convert(max_message_size, cfg.max_message_size, parse_size);
  convert(compression_min_size, cfg.compression_min_size, parse_size);
  cfg.compression = compression == "on";
  cfg.io_uring = io_uring == "on";
  convert(shutdown_timeout, cfg.shutdown_timeout, parse_duration);
  convert(empty_room_ttl, cfg.empty_room_ttl, parse_duration);
  convert(max_queue_bytes, cfg.max_queue_bytes, parse_size);
  convert(handshake_timeout, cfg.handshake_timeout, parse_duration);
  convert(ping_interval, cfg.ping_interval, parse_duration);
  convert(idle_timeout, cfg.idle_timeout, parse_duration);
  convert(close_timeout, cfg.close_timeout, parse_duration);
  convert(park_after, cfg.park_after, parse_duration);
  if (!batch_window.empty()) cfg.batch_window = parse_duration(batch_window);
  cfg.slow_consumer = choice<overflow_policy>(slow_consumer, overflow_policy_names);
  cfg.rate_limit_action = choice<rate_policy>(rate_limit_action, rate_policy_names);
  cfg.log_format = choice<log_encoding>(log_format, log_encoding_names);
  if (cfg.rate_burst == 0) cfg.rate_burst = std::max(cfg.rate_limit, 1.0);
  auto const usage = [](std::string message) {
    return early_exit{exit_usage, "crier: " + std::move(message) + " (see crier --help)\n"};
  };
  if (cfg.handshake_timeout.count() == 0) return usage("--handshake-timeout: must be more than 0");
  convert(redis_heartbeat, cfg.redis_heartbeat, parse_duration);
  if (cfg.redis_heartbeat.count() < 10) return usage("--redis-heartbeat: must be at least 10ms");
  if (!cfg.redis_url.empty()) cfg.redis = *parse_redis_url(cfg.redis_url);
  if (cfg.close_timeout.count() == 0) return usage("--close-timeout: must be more than 0");
  if (cfg.batch_window && *cfg.batch_window > std::chrono::seconds(1)) return usage("--batch-window: must be at most 1s");
  if (cfg.idle_timeout.count() > 0 && cfg.ping_interval.count() > 0 && cfg.ping_interval >= cfg.idle_timeout)
    return usage("--ping-interval: must be shorter than --idle-timeout, or a live peer would time out");
  if (tls_cert.empty() != tls_key.empty())
    return usage(tls_cert.empty() ? "--tls-key: needs --tls-cert" : "--tls-cert: needs --tls-key");
  cfg.tls_cert = tls_cert;
  cfg.tls_key = tls_key;
  if (!token_leeway.empty())
    cfg.token_leeway = std::chrono::duration_cast<std::chrono::seconds>(*parse_duration(token_leeway));
  if (!token_public_key.empty()) {
    cfg.token_public_key = token_public_key;
    auto pem = read_small_file(cfg.token_public_key);
    if (auto const* why = std::get_if<std::string>(&pem))
      return usage("--token-public-key: '" + token_public_key + "' cannot be read: " + *why);
    cfg.token_public_key_pem = std::move(std::get<file_contents>(pem).text);
    if (auto const problem = public_key_problem(cfg.token_public_key_pem); !problem.empty())
      return usage("--token-public-key: '" + token_public_key + "': " + problem);
  }
  bool const tokens = !cfg.token_secret.empty() || !cfg.token_public_key_pem.empty();
  if (!tokens && !cfg.token_issuer.empty()) return usage("--token-issuer: needs --token-secret or --token-public-key");
  if (!tokens && !cfg.token_audience.empty())
    return usage("--token-audience: needs --token-secret or --token-public-key");
  if (!webhook_events.empty()) cfg.webhook_events = *event_set::parse(webhook_events);
  convert(webhook_batch_delay, cfg.webhook_batch_delay, parse_duration);
  convert(webhook_timeout, cfg.webhook_timeout, parse_duration);
  convert(webhook_retry, cfg.webhook_retry, parse_duration);
  if (!cfg.webhook_url.empty()) {
    cfg.webhook = std::get<http_url>(parse_http_url(cfg.webhook_url));
    // An unsigned webhook lets anyone who finds the receiver's URL forge room events.
    if (cfg.webhook_secret.empty()) return usage("--webhook-url: needs --webhook-secret");
  } else if (!cfg.webhook_secret.empty()) {
    return usage("--webhook-secret: needs --webhook-url");
  }
  if (cfg.webhook_timeout.count() == 0) return usage("--webhook-timeout: must be more than 0");
  if (cfg.webhook_retry.count() == 0) return usage("--webhook-retry: must be more than 0");
  if (cfg.allowed_origins.find_first_of(" \t") != std::string::npos &&
      cfg.allowed_origins.find(',') == std::string::npos)
    return usage("--allowed-origins: separate origins with commas");
  cfg.static_dir = static_dir.empty() ? default_static_dir() : std::filesystem::path(static_dir);
  std::error_code ec;
  auto canonical = std::filesystem::canonical(cfg.static_dir, ec);
  if (ec) {
    return early_exit{exit_usage, "crier: --static-dir: '" + cfg.static_dir.string() +
                                    "' cannot be opened: " + ec.message() + " (see crier --help)\n"};
  }
  cfg.static_dir = canonical;
  return cfg;
}

} // namespace crier
