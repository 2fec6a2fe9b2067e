// Fuzzes the flag parser with an argv built from the input: "crier", then the input split at NUL
// bytes (at most 64 arguments). Whatever the arguments, parse_command_line must return either a
// usable config or an early exit with status 0 (--help, --version) or 2 (a bad flag), and a
// status 2 message must be one line, as the README promises.
#include "common/config.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern "C" char** environ;

namespace {

// The CRIER_* variables are flags too; clear them so that only the input decides.
bool clear_crier_environment() {
  std::vector<std::string> names;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, "CRIER_", 6) == 0) names.emplace_back(*e, std::strcspn(*e, "="));
  for (auto const& name : names) ::unsetenv(name.c_str());
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  static bool const cleared = clear_crier_environment();
  (void)cleared;

  std::vector<std::string> args{"crier"};
  std::string current;
  for (std::size_t i = 0; i < size && args.size() < 64; ++i) {
    if (data[i] == 0) {
      args.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(static_cast<char>(data[i]));
    }
  }
  if (size > 0 && args.size() < 64) args.push_back(std::move(current));
  std::vector<char const*> argv;
  for (auto const& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);

  auto const result = crier::parse_command_line(static_cast<int>(args.size()), argv.data());
  if (auto const* exit = std::get_if<crier::early_exit>(&result)) {
    CRIER_FUZZ_CHECK(exit->status == 0 || exit->status == crier::exit_usage);
    CRIER_FUZZ_CHECK(!exit->output.empty());
    if (exit->status == crier::exit_usage) {
      CRIER_FUZZ_CHECK(exit->output.back() == '\n');
      CRIER_FUZZ_CHECK(exit->output.find('\n') == exit->output.size() - 1);
    }
    return 0;
  }
  auto const& cfg = std::get<crier::config>(result);
  CRIER_FUZZ_CHECK(cfg.threads >= 1 && cfg.threads <= 1024);
  CRIER_FUZZ_CHECK(cfg.max_message_size > 0);
  CRIER_FUZZ_CHECK(cfg.shutdown_timeout.count() >= 0);
  CRIER_FUZZ_CHECK(cfg.static_dir.is_absolute());
  CRIER_FUZZ_CHECK(!cfg.address.empty());
  return 0;
}
