#pragma once
// Starts Debian's redis-server for a test on a free loopback port, with persistence off, and
// stops it when destroyed. stop() and start() again on the same port simulate an outage.

#include <chrono>
#include <cstdint>
#include <string>
#include <sys/types.h>

namespace crier::test {

class redis_process {
public:
  // With `keep_data`, Redis writes every command to an append-only file in a directory of its own
  // (written before each reply; a SIGKILLed process loses nothing the kernel has, so no fsync),
  // so that a restart after kill() comes back with the data.
  explicit redis_process(bool keep_data = false);
  ~redis_process();
  redis_process(redis_process const&) = delete;
  redis_process& operator=(redis_process const&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  bool running() const noexcept { return pid_ > 0; }
  // Starts it (again) on the same port and waits until it accepts connections.
  void start();
  // SIGKILL, so clients see the connection drop as in a crash.
  void kill();
  // SIGSTOP and SIGCONT: a Redis that stops answering while its connections stay open.
  void freeze();
  void thaw();
  bool frozen() const noexcept { return frozen_; }

private:
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool frozen_ = false;
  std::string dir_; // with keep_data: where the append-only file is
};

// True when redis-server is installed.
bool have_redis_server();

} // namespace crier::test
