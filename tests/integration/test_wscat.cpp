// wscat, as users run it: a line it sends reaches another client, and a message from another
// client shows up in its output.
#include "tests/support/crier_process.hpp"
#include "tests/support/ws_client.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace crier::test {
namespace {

// Runs wscat with a stdin pipe kept open (wscat exits at once when its stdin closes) and its
// output captured.
class wscat_process {
public:
  explicit wscat_process(std::vector<std::string> args) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    std::string const exe = std::string(CRIER_NODE_MODULES) + "/.bin/wscat";
    args.insert(args.begin(), exe);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
      ::execv(exe.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
  }
  ~wscat_process() {
    ::close(stdin_);
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    ::close(stdout_);
  }

  // Reads output until `text` appears or the timeout passes; returns all output read.
  std::string wait_for(std::string const& text, std::chrono::milliseconds timeout) {
    auto const deadline = std::chrono::steady_clock::now() + timeout;
    while (output_.find(text) == std::string::npos) {
      auto const left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) break;
      pollfd p{stdout_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[1024];
      auto const n = ::read(stdout_, buf, sizeof buf);
      if (n <= 0) break;
      output_.append(buf, static_cast<std::size_t>(n));
    }
    return output_;
  }

private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  std::string output_;
};

TEST(wscat, a_line_from_wscat_reaches_another_client_and_back) {
  if (!std::filesystem::exists(std::string(CRIER_NODE_MODULES) + "/.bin/wscat"))
    GTEST_FAIL() << "wscat is not installed; run scripts/install-deps";
  crier_process server;
  ws_client listener(server.port(), "/ws/wscat");
  auto const url = "ws://127.0.0.1:" + std::to_string(server.port()) + "/ws/wscat";
  // -x sends one line once connected; -w keeps the connection open 5 s more to receive.
  wscat_process wscat({"-c", url, "-x", "hello from wscat", "-w", "5"});
  EXPECT_EQ(listener.receive(10s).data, "hello from wscat");
  listener.send_text("hello back");
  auto const out = wscat.wait_for("hello back", 10s);
  EXPECT_NE(out.find("hello back"), std::string::npos) << out;
}

} // namespace
} // namespace crier::test
