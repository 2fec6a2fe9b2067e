#include "tests/support/redis_process.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <poll.h>
#include <stdexcept>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace crier::test {

namespace asio = boost::asio;

bool have_redis_server() { return std::system("command -v redis-server >/dev/null 2>&1") == 0; }

redis_process::redis_process(bool keep_data) {
  if (keep_data) {
    std::string tmpl = "/tmp/crier-redis-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
  }
  // A free port: bind to port 0, read it, and let it go for redis-server to take.
  asio::io_context ioc;
  asio::ip::tcp::acceptor probe(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  port_ = probe.local_endpoint().port();
  probe.close();
  start();
}

redis_process::~redis_process() {
  kill();
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
}

void redis_process::freeze() {
  if (pid_ > 0 && ::kill(pid_, SIGSTOP) == 0) frozen_ = true;
}

void redis_process::thaw() {
  if (pid_ > 0 && ::kill(pid_, SIGCONT) == 0) frozen_ = false;
}

void redis_process::start() {
  if (pid_ > 0) return;
  auto const port = std::to_string(port_);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int const devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    // Not the test's client sockets: redis-server would hold them open for as long as it runs.
    if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
      for (int fd = 3; fd < 4096; ++fd) ::close(fd);
    if (!dir_.empty())
      ::execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--save", "",
               "--dir", dir_.c_str(), "--appendonly", "yes", "--appendfsync", "no", "--protected-mode", "yes",
               "--enable-debug-command", "local", static_cast<char*>(nullptr));
    else
      ::execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--protected-mode", "yes", "--enable-debug-command", "local",
               static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Ready once it accepts a connection; each attempt is bounded, and so is the whole wait.
  auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    asio::io_context ioc;
    asio::ip::tcp::socket s(ioc);
    boost::system::error_code ec;
    s.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
    if (!ec) return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("redis-server exited at start");
    }
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("redis-server did not start listening");
    // Nothing to wait on but the port itself: retry after a short pause, under the deadline.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void redis_process::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  frozen_ = false;
}

} // namespace crier::test
