// Flag and environment parsing, the bad values included, and the size and duration units.
#include "common/config.hpp"
#include "common/units.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <unistd.h>

namespace crier {
namespace {

using namespace std::chrono_literals;

std::variant<config, early_exit> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "crier");
  std::vector<char const*> argv;
  for (auto const& a : args) argv.push_back(a.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

config parse_ok(std::vector<std::string> args) {
  auto r = parse(std::move(args));
  if (auto* e = std::get_if<early_exit>(&r)) ADD_FAILURE() << "unexpected exit: " << e->output;
  return std::get<config>(r);
}

early_exit parse_fail(std::vector<std::string> args) {
  auto r = parse(std::move(args));
  EXPECT_TRUE(std::holds_alternative<early_exit>(r));
  return std::holds_alternative<early_exit>(r) ? std::get<early_exit>(r) : early_exit{};
}

// Sets an environment variable for one test.
struct scoped_env {
  std::string name;
  scoped_env(std::string n, char const* value) : name(std::move(n)) { ::setenv(name.c_str(), value, 1); }
  ~scoped_env() { ::unsetenv(name.c_str()); }
};

TEST(config, defaults) {
  auto const cfg = parse_ok({});
  EXPECT_EQ(cfg.address, "0.0.0.0");
  EXPECT_EQ(cfg.port, 8080);
  EXPECT_GE(cfg.threads, 1U);
  EXPECT_EQ(cfg.max_message_size, 64U * 1024);
  EXPECT_EQ(cfg.shutdown_timeout, 10s);
  EXPECT_EQ(cfg.log_level, "info");
  EXPECT_TRUE(std::filesystem::is_directory(cfg.static_dir));
  EXPECT_TRUE(std::filesystem::exists(cfg.static_dir / "index.html"));
}

TEST(config, flags) {
  auto const dir = std::filesystem::temp_directory_path();
  auto const cfg = parse_ok({"--address", "::1", "--port", "0", "--threads", "3", "--static-dir", dir.string(),
                             "--log-level", "debug", "--max-message-size", "1MiB", "--shutdown-timeout", "2.5"});
  EXPECT_EQ(cfg.address, "::1");
  EXPECT_EQ(cfg.port, 0);
  EXPECT_EQ(cfg.threads, 3U);
  EXPECT_EQ(cfg.static_dir, std::filesystem::canonical(dir));
  EXPECT_EQ(cfg.log_level, "debug");
  EXPECT_EQ(cfg.max_message_size, 1U << 20);
  EXPECT_EQ(cfg.shutdown_timeout, 2500ms);
}

TEST(config, environment_twins) {
  scoped_env port("CRIER_PORT", "9001");
  scoped_env threads("CRIER_THREADS", "2");
  scoped_env size("CRIER_MAX_MESSAGE_SIZE", "128k");
  scoped_env level("CRIER_LOG_LEVEL", "warn");
  scoped_env address("CRIER_ADDRESS", "127.0.0.1");
  scoped_env timeout("CRIER_SHUTDOWN_TIMEOUT", "500ms");
  auto const cfg = parse_ok({});
  EXPECT_EQ(cfg.port, 9001);
  EXPECT_EQ(cfg.threads, 2U);
  EXPECT_EQ(cfg.max_message_size, 128U * 1024);
  EXPECT_EQ(cfg.log_level, "warn");
  EXPECT_EQ(cfg.address, "127.0.0.1");
  EXPECT_EQ(cfg.shutdown_timeout, 500ms);
}

TEST(config, io_uring) {
  EXPECT_FALSE(parse_ok({}).io_uring);
  EXPECT_TRUE(parse_ok({"--io-uring", "on"}).io_uring);
  EXPECT_FALSE(parse_ok({"--io-uring", "off"}).io_uring);
  scoped_env on("CRIER_IO_URING", "on");
  EXPECT_TRUE(parse_ok({}).io_uring);
  EXPECT_FALSE(parse_ok({"--io-uring", "off"}).io_uring);
}

TEST(config, compression) {
  auto const d = parse_ok({});
  EXPECT_TRUE(d.compression);
  EXPECT_EQ(d.compression_min_size, 128U);
  EXPECT_EQ(d.compression_level, 1);
  EXPECT_EQ(d.compression_context_members, 16U);
  EXPECT_EQ(parse_ok({"--compression-context-members", "0"}).compression_context_members, 0U);
  auto const f = parse_ok({"--compression", "off", "--compression-min-size", "1KiB", "--compression-level", "9"});
  EXPECT_FALSE(f.compression);
  EXPECT_EQ(f.compression_min_size, 1024U);
  EXPECT_EQ(f.compression_level, 9);
  EXPECT_EQ(parse_ok({"--compression-min-size", "0"}).compression_min_size, 0U);
  scoped_env on("CRIER_COMPRESSION", "off");
  scoped_env min("CRIER_COMPRESSION_MIN_SIZE", "300");
  scoped_env level("CRIER_COMPRESSION_LEVEL", "6");
  scoped_env members("CRIER_COMPRESSION_CONTEXT_MEMBERS", "3");
  auto const e = parse_ok({});
  EXPECT_EQ(e.compression_context_members, 3U);
  EXPECT_FALSE(e.compression);
  EXPECT_EQ(e.compression_min_size, 300U);
  EXPECT_EQ(e.compression_level, 6);
}

TEST(config, park_after_defaults_to_a_second_and_takes_a_duration_or_0) {
  EXPECT_EQ(parse_ok({}).park_after, 1s);
  EXPECT_EQ(parse_ok({"--park-after", "250ms"}).park_after, 250ms);
  EXPECT_EQ(parse_ok({"--park-after", "0"}).park_after, 0ms);
  scoped_env park("CRIER_PARK_AFTER", "2s");
  EXPECT_EQ(parse_ok({}).park_after, 2s);
}

TEST(config, batch_window_defaults_to_a_millisecond_with_io_uring_and_takes_up_to_a_second_or_0) {
  EXPECT_EQ(batch_window_or_default(parse_ok({})), 0ms);
  EXPECT_EQ(batch_window_or_default(parse_ok({"--io-uring", "on"})), 1ms);
  EXPECT_EQ(batch_window_or_default(parse_ok({"--batch-window", "5ms"})), 5ms);
  EXPECT_EQ(batch_window_or_default(parse_ok({"--batch-window", "1s"})), 1s);
  EXPECT_EQ(batch_window_or_default(parse_ok({"--batch-window", "0", "--io-uring", "on"})), 0ms);
  scoped_env window("CRIER_BATCH_WINDOW", "2ms");
  EXPECT_EQ(batch_window_or_default(parse_ok({})), 2ms);
}

TEST(config, a_flag_wins_over_its_environment_variable) {
  scoped_env port("CRIER_PORT", "9001");
  EXPECT_EQ(parse_ok({"--port", "9002"}).port, 9002);
}

TEST(config, bad_values_exit_2_with_one_line_naming_the_flag) {
  struct bad {
    std::vector<std::string> args;
    std::string flag;
  };
  std::vector<bad> const cases{
    {{"--port", "65536"}, "--port"},
    {{"--port", "http"}, "--port"},
    {{"--port", "-1"}, "--port"},
    {{"--threads", "0"}, "--threads"},
    {{"--threads", "many"}, "--threads"},
    {{"--address", "localhost:80"}, "--address"},
    {{"--address", "999.1.1.1"}, "--address"},
    {{"--log-level", "loud"}, "--log-level"},
    {{"--max-message-size", "0"}, "--max-message-size"},
    {{"--max-message-size", "12parsecs"}, "--max-message-size"},
    {{"--max-message-size", "-5"}, "--max-message-size"},
    {{"--shutdown-timeout", "soon"}, "--shutdown-timeout"},
    {{"--shutdown-timeout", "-1"}, "--shutdown-timeout"},
    {{"--static-dir", "/nonexistent/crier"}, "--static-dir"},
    {{"--no-such-flag"}, "--no-such-flag"},
    {{"--port"}, "--port"},
    {{"stray-positional"}, "stray-positional"},
    {{"--presence-threshold", "0"}, "--presence-threshold"},
    {{"--compression", "yes"}, "--compression"},
    {{"--io-uring", "auto"}, "--io-uring"},
    {{"--compression-level", "0"}, "--compression-level"},
    {{"--compression-level", "10"}, "--compression-level"},
    {{"--compression-min-size", "small"}, "--compression-min-size"},
    {{"--compression-context-members", "-1"}, "--compression-context-members"},
    {{"--compression-context-members", "many"}, "--compression-context-members"},
    {{"--park-after", "soon"}, "--park-after"},
    {{"--park-after", "-1s"}, "--park-after"},
    {{"--batch-window", "soon"}, "--batch-window"},
    {{"--batch-window", "1001ms"}, "--batch-window"},
    // Limits that contradict each other: a live peer, pinged less often than the idle timeout,
    // would be closed as idle.
    {{"--ping-interval", "30s", "--idle-timeout", "10s"}, "--ping-interval"},
    {{"--ping-interval", "30s", "--idle-timeout", "10s"}, "--idle-timeout"},
  };
  for (auto const& c : cases) {
    auto const e = parse_fail(c.args);
    EXPECT_EQ(e.status, exit_usage) << c.args[0];
    EXPECT_NE(e.output.find(c.flag), std::string::npos) << "message does not name " << c.flag << ": " << e.output;
    EXPECT_EQ(e.output.find('\n'), e.output.size() - 1) << "not one line: " << e.output;
  }
}

TEST(config, bad_environment_value_is_refused_too) {
  scoped_env port("CRIER_PORT", "eighty");
  auto const e = parse_fail({});
  EXPECT_EQ(e.status, exit_usage);
  EXPECT_NE(e.output.find("--port"), std::string::npos) << e.output;
}

TEST(config, help_and_version_exit_0) {
  auto const help = parse_fail({"--help"});
  EXPECT_EQ(help.status, 0);
  for (auto const* flag : {"--address", "--port", "--threads", "--static-dir", "--log-level", "--max-message-size",
                           "--shutdown-timeout", "CRIER_PORT"})
    EXPECT_NE(help.output.find(flag), std::string::npos) << flag;
  auto const version = parse_fail({"--version"});
  EXPECT_EQ(version.status, 0);
  EXPECT_EQ(version.output, "crier " + version_string() + "\n");
}

TEST(config, policies_are_parsed_into_their_enums) {
  auto const d = parse_ok({});
  EXPECT_EQ(d.slow_consumer, overflow_policy::close);
  EXPECT_EQ(d.rate_limit_action, rate_policy::close);
  EXPECT_EQ(d.log_format, log_encoding::text);
  auto const c = parse_ok({"--slow-consumer", "drop-oldest", "--rate-limit-action", "drop", "--log-format", "json"});
  EXPECT_EQ(c.slow_consumer, overflow_policy::drop_oldest);
  EXPECT_EQ(c.rate_limit_action, rate_policy::drop);
  EXPECT_EQ(c.log_format, log_encoding::json);
  EXPECT_EQ(to_string(c.slow_consumer), "drop-oldest");
  EXPECT_EQ(to_string(c.rate_limit_action), "drop");
  EXPECT_EQ(to_string(c.log_format), "json");
  scoped_env env("CRIER_SLOW_CONSUMER", "drop-oldest");
  EXPECT_EQ(parse_ok({}).slow_consumer, overflow_policy::drop_oldest);
  for (auto const& [flag, bad] : {std::pair{"--slow-consumer", "drop"}, std::pair{"--rate-limit-action", "drop-oldest"},
                                  std::pair{"--log-format", "xml"}}) {
    auto const e = parse_fail({flag, bad});
    EXPECT_EQ(e.status, exit_usage) << flag;
    EXPECT_NE(e.output.find(flag), std::string::npos) << e.output;
  }
}

TEST(config, redis_is_off_by_default) {
  auto const c = parse_ok({});
  EXPECT_TRUE(c.redis_url.empty());
  EXPECT_EQ(c.redis_heartbeat, 5s);
}

TEST(config, redis_url_and_heartbeat) {
  auto const c = parse_ok({"--redis", "redis://10.0.0.7:6380/3", "--redis-heartbeat", "250ms"});
  EXPECT_EQ(c.redis_url, "redis://10.0.0.7:6380/3");
  EXPECT_EQ(c.redis.host, "10.0.0.7");
  EXPECT_EQ(c.redis.port, 6380);
  EXPECT_EQ(c.redis.db, 3U);
  EXPECT_EQ(c.redis_heartbeat, 250ms);
  scoped_env env("CRIER_REDIS", "redis://redis");
  scoped_env hb("CRIER_REDIS_HEARTBEAT", "2s");
  auto const e = parse_ok({});
  EXPECT_EQ(e.redis.host, "redis");
  EXPECT_EQ(e.redis.port, 6379);
  EXPECT_EQ(e.redis.db, 0U);
  EXPECT_EQ(e.redis_heartbeat, 2s);
}

TEST(config, redis_urls) {
  auto const v6 = parse_redis_url("redis://[::1]:7000/1");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 7000);
  EXPECT_EQ(v6->db, 1U);
  ASSERT_TRUE(parse_redis_url("redis://localhost/"));
  for (auto const* bad : {"", "redis://", "http://h:1", "redis://h:0", "redis://h:65536", "redis://h:x", "redis://h:1/x",
                          "redis://user:pw@h:1", "redis://[::1", "redis://h:"})
    EXPECT_FALSE(parse_redis_url(bad)) << bad;
}

TEST(config, bad_redis_flags_exit_2_naming_the_flag) {
  auto const url = parse_fail({"--redis", "localhost:6379"});
  EXPECT_EQ(url.status, exit_usage);
  EXPECT_NE(url.output.find("--redis"), std::string::npos) << url.output;
  EXPECT_NE(url.output.find("redis://HOST:PORT"), std::string::npos) << url.output;
  for (auto const* bad : {"0", "5ms", "soon"}) {
    auto const hb = parse_fail({"--redis-heartbeat", bad});
    EXPECT_EQ(hb.status, exit_usage);
    EXPECT_NE(hb.output.find("--redis-heartbeat"), std::string::npos) << hb.output;
  }
}

TEST(config, webhooks_are_off_by_default) {
  auto const c = parse_ok({});
  EXPECT_TRUE(c.webhook_url.empty());
  EXPECT_EQ(c.webhook_events, default_webhook_events);
  EXPECT_FALSE(c.webhook_events.contains(event_type::message));
  EXPECT_EQ(c.webhook_batch_size, 100U);
  EXPECT_EQ(c.webhook_batch_delay, 100ms);
  EXPECT_EQ(c.webhook_timeout, 5s);
  EXPECT_EQ(c.webhook_retry, 1s);
  EXPECT_EQ(c.webhook_queue, 10'000U);
}

TEST(config, webhook_flags_and_their_environment_twins) {
  auto const c = parse_ok({"--webhook-url", "https://[::1]:8443/hooks?x=1", "--webhook-secret", "s", "--webhook-events",
                           "message, room_vacated", "--webhook-batch-size", "7", "--webhook-batch-delay", "5ms",
                           "--webhook-timeout", "250ms", "--webhook-retry", "20ms", "--webhook-queue", "3"});
  EXPECT_TRUE(c.webhook.tls);
  EXPECT_EQ(c.webhook.host, "::1");
  EXPECT_EQ(c.webhook.port, "8443");
  EXPECT_EQ(c.webhook.target, "/hooks?x=1");
  EXPECT_EQ(c.webhook_secret, "s");
  EXPECT_EQ(c.webhook_events, (event_set{event_type::message, event_type::room_vacated}));
  EXPECT_EQ(c.webhook_batch_size, 7U);
  EXPECT_EQ(c.webhook_batch_delay, 5ms);
  EXPECT_EQ(c.webhook_timeout, 250ms);
  EXPECT_EQ(c.webhook_retry, 20ms);
  EXPECT_EQ(c.webhook_queue, 3U);
  scoped_env url("CRIER_WEBHOOK_URL", "http://hooks.example");
  scoped_env secret("CRIER_WEBHOOK_SECRET", "t");
  scoped_env events("CRIER_WEBHOOK_EVENTS", "join");
  auto const e = parse_ok({});
  EXPECT_FALSE(e.webhook.tls);
  EXPECT_EQ(e.webhook.port, "80");
  EXPECT_EQ(e.webhook.target, "/");
  EXPECT_EQ(e.webhook_secret, "t");
  EXPECT_EQ(e.webhook_events, event_set{event_type::join});
}

TEST(config, bad_webhook_flags_exit_2_naming_the_flag) {
  for (auto const& [args, flag] : std::vector<std::pair<std::vector<std::string>, std::string>>{
         {{"--webhook-url", "ftp://h/", "--webhook-secret", "s"}, "--webhook-url"},
         {{"--webhook-url", "hooks.example", "--webhook-secret", "s"}, "--webhook-url"},
         {{"--webhook-url", "http://h/"}, "--webhook-url: needs --webhook-secret"},
         {{"--webhook-secret", "s"}, "--webhook-secret: needs --webhook-url"},
         {{"--webhook-events", "join,kick"}, "--webhook-events"},
         {{"--webhook-events", ""}, "--webhook-events"},
         {{"--webhook-batch-size", "0"}, "--webhook-batch-size"},
         {{"--webhook-batch-delay", "soon"}, "--webhook-batch-delay"},
         {{"--webhook-timeout", "0"}, "--webhook-timeout"},
         {{"--webhook-retry", "0"}, "--webhook-retry"},
         {{"--webhook-queue", "0"}, "--webhook-queue"}}) {
    auto const r = parse_fail(args);
    EXPECT_EQ(r.status, exit_usage) << flag;
    EXPECT_NE(r.output.find(flag), std::string::npos) << r.output;
  }
}

// A fixed EC P-256 public key, for --token-public-key (test_token.cpp tests the keys themselves).
constexpr char const* ec_public_key = "-----BEGIN PUBLIC KEY-----\n"
                                      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEiY50LjAsukTMGcPaf8gR4TUvJ5am\n"
                                      "eoDXzMhlhx7eUHFzvzvsP8MJfDgKxYq0NpyXo3Jqm3y1tzAVdBrPqaJRjw==\n"
                                      "-----END PUBLIC KEY-----\n";

struct temp_file {
  std::filesystem::path path;
  temp_file(std::string const& name, std::string_view contents)
    : path(std::filesystem::temp_directory_path() / ("crier-test-config-" + std::to_string(::getpid()) + "-" + name)) {
    std::ofstream(path, std::ios::binary) << contents;
  }
  ~temp_file() { std::filesystem::remove(path); }
};

TEST(config, token_flags_default_to_off) {
  auto const c = parse_ok({});
  EXPECT_EQ(c.token_secret, "");
  EXPECT_TRUE(c.token_public_key.empty());
  EXPECT_EQ(c.token_public_key_pem, "");
  EXPECT_EQ(c.token_issuer, "");
  EXPECT_EQ(c.token_audience, "");
  EXPECT_EQ(c.token_leeway, 30s);
  EXPECT_EQ(c.api_key, "");
}

TEST(config, token_flags) {
  temp_file const key("ec.pem", ec_public_key);
  auto const c = parse_ok({"--token-secret", "s3cret", "--token-public-key", key.path.string(), "--token-issuer",
                           "https://auth.example", "--token-audience", "crier", "--token-leeway", "2m", "--api-key",
                           "k3y"});
  EXPECT_EQ(c.token_secret, "s3cret");
  EXPECT_EQ(c.token_public_key, key.path);
  EXPECT_EQ(c.token_public_key_pem, ec_public_key);
  EXPECT_EQ(c.token_issuer, "https://auth.example");
  EXPECT_EQ(c.token_audience, "crier");
  EXPECT_EQ(c.token_leeway, 120s);
  EXPECT_EQ(c.api_key, "k3y");
  EXPECT_EQ(parse_ok({"--token-leeway", "0"}).token_leeway, 0s);
  EXPECT_EQ(parse_ok({"--token-leeway", "1500ms"}).token_leeway, 1s);
}

TEST(config, token_flags_environment_twins) {
  temp_file const key("ec-env.pem", ec_public_key);
  scoped_env secret("CRIER_TOKEN_SECRET", "from-env");
  scoped_env public_key("CRIER_TOKEN_PUBLIC_KEY", key.path.c_str());
  scoped_env issuer("CRIER_TOKEN_ISSUER", "iss");
  scoped_env audience("CRIER_TOKEN_AUDIENCE", "aud");
  scoped_env leeway("CRIER_TOKEN_LEEWAY", "5s");
  scoped_env api_key("CRIER_API_KEY", "api");
  auto const c = parse_ok({});
  EXPECT_EQ(c.token_secret, "from-env");
  EXPECT_EQ(c.token_public_key_pem, ec_public_key);
  EXPECT_EQ(c.token_issuer, "iss");
  EXPECT_EQ(c.token_audience, "aud");
  EXPECT_EQ(c.token_leeway, 5s);
  EXPECT_EQ(c.api_key, "api");
  EXPECT_EQ(parse_ok({"--token-secret", "flag"}).token_secret, "flag");
}

TEST(config, bad_token_flags_exit_2_naming_the_flag) {
  temp_file const garbage("garbage.pem", "not a key\n");
  temp_file const empty("empty.pem", "");
  temp_file const private_key("private.pem", "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n"
                                             "-----END PRIVATE KEY-----\n");
  struct bad {
    std::vector<std::string> args;
    std::string flag;
  };
  std::vector<bad> const cases{
    {{"--token-public-key", "/nonexistent/crier.pem"}, "--token-public-key"},
    {{"--token-public-key", std::filesystem::temp_directory_path().string()}, "--token-public-key"},
    {{"--token-public-key", garbage.path.string()}, "--token-public-key"},
    {{"--token-public-key", empty.path.string()}, "--token-public-key"},
    {{"--token-public-key", private_key.path.string()}, "--token-public-key"},
    {{"--token-leeway", "soon"}, "--token-leeway"},
    {{"--token-leeway", "-1s"}, "--token-leeway"},
    {{"--token-issuer", "iss"}, "--token-issuer"},
    {{"--token-audience", "aud"}, "--token-audience"},
    {{"--token-secret"}, "--token-secret"},
    {{"--api-key"}, "--api-key"},
  };
  for (auto const& c : cases) {
    auto const e = parse_fail(c.args);
    EXPECT_EQ(e.status, exit_usage) << c.args[0];
    EXPECT_NE(e.output.find(c.flag), std::string::npos) << "message does not name " << c.flag << ": " << e.output;
    EXPECT_EQ(e.output.find('\n'), e.output.size() - 1) << "not one line: " << e.output;
  }
  EXPECT_NE(parse_fail({"--token-public-key", private_key.path.string()}).output.find("private key"), std::string::npos);
  scoped_env env("CRIER_TOKEN_PUBLIC_KEY", "/nonexistent/crier.pem");
  auto const e = parse_fail({});
  EXPECT_EQ(e.status, exit_usage);
  EXPECT_NE(e.output.find("--token-public-key"), std::string::npos) << e.output;
}

TEST(config, token_flags_are_in_the_help) {
  auto const help = parse_fail({"--help"}).output;
  for (auto const* flag : {"--token-secret", "CRIER_TOKEN_SECRET", "--token-public-key", "CRIER_TOKEN_PUBLIC_KEY",
                           "--token-issuer", "CRIER_TOKEN_ISSUER", "--token-audience", "CRIER_TOKEN_AUDIENCE",
                           "--token-leeway", "CRIER_TOKEN_LEEWAY", "--api-key", "CRIER_API_KEY"})
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
}

TEST(units, sizes) {
  EXPECT_EQ(parse_size("65536"), 65536U);
  EXPECT_EQ(parse_size("64KiB"), 65536U);
  EXPECT_EQ(parse_size("64k"), 65536U);
  EXPECT_EQ(parse_size("1 MiB"), 1U << 20);
  EXPECT_EQ(parse_size("2g"), 2ULL << 30);
  EXPECT_EQ(parse_size("10B"), 10U);
  EXPECT_FALSE(parse_size(""));
  EXPECT_FALSE(parse_size("k"));
  EXPECT_FALSE(parse_size("1.5MiB"));
  EXPECT_FALSE(parse_size("-1"));
  EXPECT_FALSE(parse_size("10 parsecs"));
  EXPECT_FALSE(parse_size("99999999999999999999"));
  EXPECT_FALSE(parse_size("17179869184G")); // overflows 64 bits once multiplied
}

TEST(units, durations) {
  EXPECT_EQ(parse_duration("10"), 10s);
  EXPECT_EQ(parse_duration("10s"), 10s);
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("0.5"), 500ms);
  EXPECT_EQ(parse_duration("2m"), 120s);
  EXPECT_EQ(parse_duration("1h"), 3600s);
  EXPECT_EQ(parse_duration("0"), 0ms);
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("-1"));
  EXPECT_FALSE(parse_duration("1.2.3"));
  EXPECT_FALSE(parse_duration("."));
  EXPECT_FALSE(parse_duration("5 fortnights"));
  EXPECT_FALSE(parse_duration("1e9h"));
}

} // namespace
} // namespace crier
