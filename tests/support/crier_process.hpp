#pragma once
// Starts the real crier binary for an integration test, collects its log lines, and reads the
// bound port back from "listening on http://ADDR:PORT". Stops it (SIGTERM, then SIGKILL) when
// destroyed.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace crier::test {

using namespace std::chrono_literals;

class crier_process {
public:
  // Runs `crier --address 127.0.0.1 --port 0 <args>` and waits until it listens.
  // Throws when it exits or does not listen within `timeout`.
  struct options {
    std::chrono::milliseconds timeout = std::chrono::seconds(10);
    std::uint64_t max_open_files = 0; // RLIMIT_NOFILE for the server; 0 leaves it as it is
    // Another program that logs "listening on http://ADDR:PORT" the same way (a docs example),
    // run as `command` then the args, instead of crier; and variables added to its environment.
    std::vector<std::string> command = {};
    std::vector<std::string> env = {};
  };
  explicit crier_process(std::vector<std::string> args = {}) : crier_process(std::move(args), options{}) {}
  crier_process(std::vector<std::string> args, options opts);
  ~crier_process();
  crier_process(crier_process const&) = delete;
  crier_process& operator=(crier_process const&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  pid_t pid() const noexcept { return pid_; }

  void signal(int sig) const;
  // Waits for the process to exit; returns its exit status, or nullopt on timeout.
  // A death by signal is returned as 128 + signal, as a shell would.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = 10s);

  // Waits until a log line matches `pattern`; returns it.
  std::optional<std::string> wait_for_line(std::regex const& pattern, std::chrono::milliseconds timeout = 5s);
  std::vector<std::string> lines() const;
  std::string log() const;

  // Runs crier with `args` to completion (for flag tests): exit status and everything it printed.
  struct result {
    int status;
    std::string out;
    std::string err;
  };
  static result run_to_exit(std::vector<std::string> const& args, std::chrono::milliseconds timeout = 10s,
                            std::vector<std::string> const& env = {});

private:
  void read_output(int fd);

  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::optional<int> exit_status_;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
  bool eof_ = false;
};

// Where the crier binary under test is (set by CMake).
std::string crier_binary();

} // namespace crier::test
