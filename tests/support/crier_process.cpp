#include "tests/support/crier_process.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace crier::test {

std::string crier_binary() { return CRIER_BINARY; }

namespace {

// fork/exec with stdout and stderr captured; stdin is /dev/null.
pid_t spawn(std::vector<std::string> const& argv, std::vector<std::string> const& extra_env, int out_fd,
            int err_fd, std::uint64_t max_open_files = 0) {
  std::vector<std::string> env_strings;
  // A variable of extra_env replaces the one of the same name (getenv would find the first).
  auto const replaced = [&](std::string_view e) {
    auto const name = e.substr(0, e.find('=') + 1);
    return std::ranges::any_of(extra_env, [&](std::string const& x) { return x.starts_with(name); });
  };
  for (char** e = environ; *e != nullptr; ++e)
    if (!replaced(*e)) env_strings.emplace_back(*e);
  for (auto const& e : extra_env) env_strings.push_back(e);
  std::vector<char*> args, envp;
  for (auto const& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (auto const& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t const pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int const devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    // Nothing else of the test's: an inherited client socket would keep that connection open
    // after the test closed it (the server's drain would then wait for it).
    if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
      for (int fd = 3; fd < 4096; ++fd) ::close(fd);
    if (max_open_files > 0) {
      rlimit const limit{max_open_files, max_open_files};
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

} // namespace

crier_process::crier_process(std::vector<std::string> args, options opts) {
  auto const timeout = opts.timeout;
  std::vector<std::string> argv = opts.command.empty()
                                    ? std::vector<std::string>{crier_binary(), "--address", "127.0.0.1", "--port", "0"}
                                    : opts.command;
  argv.insert(argv.end(), args.begin(), args.end());
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_ = spawn(argv, opts.env, fds[1], fds[1], opts.max_open_files);
  ::close(fds[1]);
  reader_ = std::thread([this, fd = fds[0]] { read_output(fd); });

  static std::regex const listening{R"(listening on https?://[^ ]+:(\d+))"};
  auto line = wait_for_line(listening, timeout);
  if (!line) {
    ::kill(pid_, SIGKILL);
    wait_exit(5s);
    reader_.join(); // the pipe closes with the process
    throw std::runtime_error(argv[0] + " did not start listening; its log:\n" + log());
  }
  std::smatch m;
  std::regex_search(*line, m, listening);
  port_ = static_cast<std::uint16_t>(std::stoi(m[1].str()));
}

crier_process::~crier_process() {
  if (!exit_status_) {
    ::kill(pid_, SIGTERM);
    if (!wait_exit(10s)) {
      ::kill(pid_, SIGKILL);
      wait_exit(10s);
    }
  }
  if (reader_.joinable()) reader_.join();
}

void crier_process::signal(int sig) const { ::kill(pid_, sig); }

std::optional<int> crier_process::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_status_) return exit_status_;
  // A pidfd becomes readable when the process exits, which gives waitpid a timeout.
  int const pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd < 0) throw std::runtime_error("pidfd_open failed");
  pollfd p{pidfd, POLLIN, 0};
  int const ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
  ::close(pidfd);
  if (ready <= 0) return std::nullopt;
  int status = 0;
  if (::waitpid(pid_, &status, 0) != pid_) return std::nullopt;
  exit_status_ = decode_status(status);
  // Whatever it wrote is in the pipe by now: let the reader take all of it before answering, so
  // that a test looking at the log after the exit sees the last lines too (on a slow machine the
  // reader may still be a line or two behind).
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, 5s, [this] { return eof_; });
  return exit_status_;
}

void crier_process::read_output(int fd) {
  std::string partial;
  char buf[4096];
  for (;;) {
    ssize_t const n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    partial.append(buf, static_cast<std::size_t>(n));
    std::size_t pos;
    std::lock_guard lock(mutex_);
    while ((pos = partial.find('\n')) != std::string::npos) {
      lines_.push_back(partial.substr(0, pos));
      partial.erase(0, pos + 1);
    }
    changed_.notify_all();
  }
  ::close(fd);
  std::lock_guard lock(mutex_);
  if (!partial.empty()) lines_.push_back(partial);
  eof_ = true;
  changed_.notify_all();
}

std::optional<std::string> crier_process::wait_for_line(std::regex const& pattern, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  std::size_t checked = 0;
  auto const deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (; checked < lines_.size(); ++checked)
      if (std::regex_search(lines_[checked], pattern)) return lines_[checked];
    if (eof_) return std::nullopt;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && checked == lines_.size())
      return std::nullopt;
  }
}

std::vector<std::string> crier_process::lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

std::string crier_process::log() const {
  std::string out;
  for (auto const& l : lines()) out += l + "\n";
  return out;
}

crier_process::result crier_process::run_to_exit(std::vector<std::string> const& args,
                                                 std::chrono::milliseconds timeout,
                                                 std::vector<std::string> const& env) {
  std::vector<std::string> argv{crier_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_t const pid = spawn(argv, env, out[1], err[1]);
  ::close(out[1]);
  ::close(err[1]);

  result r{-1, {}, {}};
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  auto const deadline = std::chrono::steady_clock::now() + timeout;
  while (open_fds > 0) {
    auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    if (::poll(fds, 2, static_cast<int>(left.count())) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP)) == 0) continue;
      char buf[4096];
      ssize_t const n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  int status = 0;
  if (open_fds > 0) ::kill(pid, SIGKILL); // it did not finish in time
  ::waitpid(pid, &status, 0);
  r.status = open_fds > 0 ? -1 : decode_status(status);
  return r;
}

} // namespace crier::test
