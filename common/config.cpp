#include "common/config.hpp"

#include "common/units.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>

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

// CLI11 words some errors over several lines; the contract is one line.
std::string one_line(std::string text) {
  for (auto& c : text)
    if (c == '\n') c = ' ';
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

} // namespace

std::string version_string() { return CRIER_VERSION; }

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
  convert(shutdown_timeout, cfg.shutdown_timeout, parse_duration);
  convert(empty_room_ttl, cfg.empty_room_ttl, parse_duration);
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
