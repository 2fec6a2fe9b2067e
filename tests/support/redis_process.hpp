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
  redis_process();
  ~redis_process();
  redis_process(redis_process const&) = delete;
  redis_process& operator=(redis_process const&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  bool running() const noexcept { return pid_ > 0; }
  // Starts it (again) on the same port and waits until it accepts connections.
  void start();
  // SIGKILL, so clients see the connection drop as in a crash.
  void kill();

private:
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// True when redis-server is installed.
bool have_redis_server();

} // namespace crier::test
