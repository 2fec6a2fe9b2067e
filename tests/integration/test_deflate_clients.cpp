// permessage-deflate with the clients people use, each in a room with a client that does not take
// the extension: Python's websockets (Debian's python3-websockets), Node's ws, and wscat. Each
// negotiates with its own defaults, checks the server's answer its own way, and exchanges short
// and long messages both ways; test_compression.cpp looks at the same thing frame by frame.
//
// The Python and Node clients are scripts in clients/, driven over stdin and stdout with one JSON
// object a line (the scripts say what they print). Every wait has a deadline.
#include "tests/support/crier_process.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <deque>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <poll.h>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace crier::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

std::string const clients_dir = std::string(CRIER_SOURCE_DIR) + "/tests/integration/clients";

// Chat-like text of exactly n bytes: words, which is what compresses.
std::string words(std::size_t n, int salt = 0) {
  static char const* const w[] = {"town ", "crier ", "hear ", "ye ", "the ", "market ", "opens ", "at ", "noon "};
  std::string s = "#" + std::to_string(salt) + " ";
  for (std::size_t i = 0; s.size() < n; ++i) s += w[(i * 7 + static_cast<std::size_t>(salt)) % 9];
  s.resize(n);
  return s;
}

int remaining_ms(steady::time_point deadline) {
  auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// A child process with its stdin on a pipe and its stdout and stderr on another: the test writes
// lines to it and reads its output by lines, never waiting past a deadline. Writing also drains
// the output, so a child blocked on a full stdout cannot deadlock a long write. Destroying it
// closes stdin (the scripts and wscat end then), and kills what is still running after 10 s.
class child_process {
public:
  explicit child_process(std::vector<std::string> args) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    ::fcntl(stdin_, F_SETFL, O_NONBLOCK);
    ::fcntl(stdout_, F_SETFL, O_NONBLOCK);
  }
  ~child_process() {
    close_stdin();
    if (!wait_exit(10s)) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(stdout_);
  }
  child_process(child_process const&) = delete;
  child_process& operator=(child_process const&) = delete;

  void write(std::string data, std::chrono::milliseconds timeout = 10s) {
    auto const deadline = steady::now() + timeout;
    std::size_t done = 0;
    while (done < data.size()) {
      pollfd p[2] = {{stdin_, POLLOUT, 0}, {stdout_, POLLIN, 0}};
      if (::poll(p, eof_ ? 1 : 2, remaining_ms(deadline)) == 0) throw std::runtime_error("writing to the child timed out");
      if (p[1].revents != 0) drain();
      if (p[0].revents & (POLLERR | POLLHUP)) throw std::runtime_error("the child closed its stdin:\n" + output_);
      if (p[0].revents & POLLOUT) {
        auto const n = ::write(stdin_, data.data() + done, data.size() - done);
        if (n > 0) done += static_cast<std::size_t>(n);
        else if (errno != EAGAIN && errno != EINTR) throw std::runtime_error("write to the child failed");
      }
    }
  }
  void close_stdin() {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
  }

  // The next whole line of output (without its newline), or nullopt at the deadline or the end.
  std::optional<std::string> next_line(steady::time_point deadline) {
    for (;;) {
      if (auto const nl = output_.find('\n', consumed_); nl != std::string::npos) {
        std::string line = output_.substr(consumed_, nl - consumed_);
        consumed_ = nl + 1;
        return line;
      }
      if (eof_ || !read_some(deadline)) return std::nullopt;
    }
  }
  // Reads output until it contains `text` or the deadline passes; whether it did.
  bool wait_for(std::string const& text, std::chrono::milliseconds timeout) {
    auto const deadline = steady::now() + timeout;
    while (output_.find(text) == std::string::npos)
      if (eof_ || !read_some(deadline)) return false;
    return true;
  }
  // Everything the child printed so far.
  std::string const& output() const { return output_; }

  // The exit status once the output ended and the child exited, or nullopt at the deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    if (status_) return status_;
    auto const deadline = steady::now() + timeout;
    while (!eof_)
      if (!read_some(deadline)) return std::nullopt;
    // The output is closed: the child is exiting. Wait for it on a pidfd, still under the deadline.
    int const pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      auto const ready = ::poll(&p, 1, remaining_ms(deadline));
      ::close(pidfd);
      if (ready <= 0) return std::nullopt;
    }
    int st = 0;
    if (::waitpid(pid_, &st, 0) != pid_) return std::nullopt;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return status_;
  }

private:
  // Waits for output and appends it; false at the deadline.
  bool read_some(steady::time_point deadline) {
    pollfd p{stdout_, POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return false;
    drain();
    return true;
  }
  void drain() {
    char buf[65536];
    for (;;) {
      auto const n = ::read(stdout_, buf, sizeof buf);
      if (n > 0) {
        output_.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) eof_ = true;
      return;
    }
  }

  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  std::string output_;
  std::size_t consumed_ = 0;
  bool eof_ = false;
  std::optional<int> status_;
};

// A client script of clients/: commands in, events out (see the scripts). Events of other types
// than the one waited for are kept, in order, for later.
class script_client {
public:
  explicit script_client(std::vector<std::string> argv) : child_(std::move(argv)) {}

  json::object next(std::string const& type, std::chrono::milliseconds timeout = 20s) {
    for (auto it = pending_.begin(); it != pending_.end(); ++it)
      if (it->at("event").as_string() == type) {
        auto e = std::move(*it);
        pending_.erase(it);
        return e;
      }
    auto const deadline = steady::now() + timeout;
    for (;;) {
      auto const line = child_.next_line(deadline);
      if (!line)
        throw std::runtime_error("no '" + type + "' event from the client within " + std::to_string(timeout.count()) +
                                 " ms; it printed:\n" + child_.output());
      json::object e;
      try {
        auto v = json::parse(*line);
        if (!v.is_object() || !v.as_object().contains("event")) continue;
        e = std::move(v.as_object());
      } catch (std::exception const&) {
        continue; // a warning or traceback: kept in output() for the report
      }
      auto const& t = e.at("event").as_string();
      if (t == "error") throw std::runtime_error("the client failed:\n" + child_.output());
      if (t == type) return e;
      pending_.push_back(std::move(e));
    }
  }

  // Sends a text message; returns whether the client compressed it (RSV1 on its frame).
  bool send(std::string const& text) {
    child_.write(json::serialize(json::object{{"cmd", "send"}, {"data", text}}) + "\n");
    return next("sent").at("rsv1").as_bool();
  }

  struct message {
    std::string data;
    bool rsv1 = false;
  };
  message receive() {
    auto const e = next("message");
    EXPECT_FALSE(e.at("binary").as_bool());
    return {std::string(e.at("data").as_string()), e.at("rsv1").as_bool()};
  }

  // Closes with 1000; returns the close code the client reports. The client then exits 0.
  std::int64_t close() {
    child_.write(R"({"cmd":"close"})"
                 "\n");
    auto const code = next("closed").at("code").to_number<std::int64_t>();
    EXPECT_EQ(child_.wait_exit(10s), 0) << child_.output();
    return code;
  }

  std::string const& output() const { return child_.output(); }

private:
  child_process child_;
  std::deque<json::object> pending_;
};

// Whether `argv` runs to exit status 0 within 20 s (its output discarded).
bool succeeds(std::vector<std::string> argv) {
  child_process p(std::move(argv));
  p.close_stdin();
  return p.wait_exit(20s) == 0;
}

// The first of `names` that is an executable on PATH (or, with a slash, as it is).
std::optional<std::string> find_program(std::vector<std::string> const& names) {
  for (auto const& name : names) {
    if (name.find('/') != std::string::npos) {
      if (::access(name.c_str(), X_OK) == 0) return name;
      continue;
    }
    char const* path = std::getenv("PATH");
    std::istringstream dirs(path ? path : "/usr/bin:/bin");
    for (std::string dir; std::getline(dirs, dir, ':');) {
      auto const candidate = (fs::path(dir.empty() ? "." : dir) / name).string();
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return std::nullopt;
}

// crier_compressed_messages_out_total now, or once it is `expected` (it moves just after the write
// the client may already have read).
double compressed_out(std::uint16_t port) { return metric(port, "crier_compressed_messages_out_total"); }
double compressed_out(std::uint16_t port, double expected) {
  return metric_reaching(port, "crier_compressed_messages_out_total", expected);
}

std::string url_of(crier_process const& server, std::string const& room) {
  return "ws://127.0.0.1:" + std::to_string(server.port()) + "/ws/" + room;
}

bool contains(std::string_view haystack, std::string_view needle) { return haystack.find(needle) != std::string_view::npos; }

// What both scripted clients go through in a room with a plain client: each of `from_client`
// goes to the server, compressed or not as the client decides (it compresses from
// `client_threshold` bytes up), comes back to the client compressed exactly from 128 bytes up,
// and reaches the plain client uncompressed; each of `from_plain` reaches the client the same way.
void exchange(script_client& client, ws_client& plain, std::size_t client_threshold,
              std::vector<std::string> const& from_client, std::vector<std::string> const& from_plain) {
  for (auto const& m : from_client) {
    SCOPED_TRACE("from the client, " + std::to_string(m.size()) + " bytes");
    EXPECT_EQ(client.send(m), m.size() >= client_threshold) << "the client's own choice of what to compress";
    auto const back = client.receive();
    EXPECT_EQ(back.data.size(), m.size());
    EXPECT_TRUE(back.data == m) << "the echo differs from what was sent";
    EXPECT_EQ(back.rsv1, m.size() >= 128) << "crier compresses from --compression-min-size (128) up";
    auto const relayed = plain.receive(10s);
    EXPECT_FALSE(relayed.binary);
    EXPECT_TRUE(relayed.data == m) << "the plain client got " << relayed.data.size() << " bytes, not the "
                                   << m.size() << " sent";
  }
  for (auto const& m : from_plain) {
    SCOPED_TRACE("from the plain client, " + std::to_string(m.size()) + " bytes");
    plain.send_text(m);
    EXPECT_TRUE(plain.receive(10s).data == m) << "the plain client's own echo";
    auto const got = client.receive();
    EXPECT_EQ(got.data.size(), m.size());
    EXPECT_TRUE(got.data == m) << "the client got something else than the plain client sent";
    EXPECT_EQ(got.rsv1, m.size() >= 128);
  }
}

// The path of Debian's python3 with websockets, or the reason there is none. Debian's
// python3-websockets is installed for /usr/bin/python3, which need not be the python3 first on
// PATH (pyenv, a virtualenv), so each candidate is asked whether it has the module.
struct python_lookup {
  std::optional<std::string> path;
  bool any_python = false;
};
python_lookup find_python_with_websockets() {
  python_lookup r;
  for (auto const& name : std::vector<std::string>{"/usr/bin/python3", "python3"}) {
    auto const exe = find_program({name});
    if (!exe) continue;
    r.any_python = true;
    if (succeeds({*exe, "-c", "import websockets"})) {
      r.path = exe;
      return r;
    }
  }
  return r;
}

TEST(deflate_clients, python_websockets_negotiates_and_exchanges_with_a_plain_client) {
  auto const python = find_python_with_websockets();
  if (!python.any_python) GTEST_SKIP() << "python3 is not installed (scripts/install-deps installs it)";
  ASSERT_TRUE(python.path) << "no python3 here can import websockets; run scripts/install-deps "
                              "(Debian package python3-websockets, for /usr/bin/python3)";
  crier_process server;
  ws_client plain(server.port(), "/ws/py-deflate");
  EXPECT_EQ(plain.handshake_response()[boost::beast::http::field::sec_websocket_extensions], "")
    << "a client that offers nothing gets no extension";

  script_client py({*python.path, clients_dir + "/deflate_websockets.py", url_of(server, "py-deflate")});
  auto const open = py.next("open");
  std::string const extensions(open.at("extensions").as_string());
  SCOPED_TRACE("websockets " + std::string(open.at("version").as_string()) + ", Sec-WebSocket-Extensions: " + extensions);
  EXPECT_TRUE(contains(extensions, "permessage-deflate")) << extensions;
  // The server keeps its context (for the rooms' compression streams) unless asked not to.
  EXPECT_FALSE(contains(extensions, "server_no_context_takeover")) << extensions;
  // websockets offers client_max_window_bits without a value, and crier picks 10 for it.
  EXPECT_TRUE(contains(extensions, "client_max_window_bits=10")) << extensions;
  ASSERT_EQ(open.at("negotiated").as_array().size(), 1u) << "websockets accepted the answer: " << py.output();
  EXPECT_TRUE(open.at("subprotocol").is_null()) << "raw mode";

  // websockets compresses every message, however small (so both reach crier compressed).
  exchange(py, plain, 0, {words(300, 1), "twenty bytes, plain."}, {words(300, 2), "short, from plain"});
  EXPECT_EQ(py.close(), 1000);
}

TEST(deflate_clients, node_ws_negotiates_and_exchanges_64_kib_with_a_plain_client) {
  auto const node = find_program({"node", "nodejs"});
  if (!node) GTEST_SKIP() << "node is not installed (scripts/install-deps installs it)";
  ASSERT_TRUE(fs::exists(std::string(CRIER_NODE_MODULES) + "/ws/package.json"))
    << "ws is not installed under tests/node_modules; run scripts/install-deps";
  crier_process server;
  ws_client plain(server.port(), "/ws/node-deflate");
  script_client ws({*node, clients_dir + "/deflate_ws.mjs", url_of(server, "node-deflate")});
  auto const open = ws.next("open");
  std::string const header(open.at("header").as_string());
  SCOPED_TRACE("Sec-WebSocket-Extensions: " + header);
  EXPECT_EQ(open.at("extensions").as_string(), "permessage-deflate") << "ws.extensions: ws took the extension";
  EXPECT_TRUE(contains(header, "permessage-deflate")) << header;
  EXPECT_FALSE(contains(header, "server_no_context_takeover")) << header;
  EXPECT_TRUE(contains(header, "client_max_window_bits=10")) << header;
  auto const& params = open.at("params").as_object();
  EXPECT_FALSE(params.contains("server_no_context_takeover")) << json::serialize(params);
  EXPECT_EQ(params.contains("client_max_window_bits") ? params.at("client_max_window_bits").to_number<int>() : 0, 10)
    << json::serialize(params);

  // ws compresses every message here: its 1024-byte threshold applies only when its own side has
  // no context takeover, which crier does not ask for. 64 KiB is crier's --max-message-size, once
  // inflated, so it is the largest message crier takes.
  auto const before = compressed_out(server.port());
  exchange(ws, plain, 0, {words(300, 1), "twenty bytes, plain.", words(64 * 1024, 3)},
           {words(300, 4), words(64 * 1024, 5), "short, from plain"});
  // Echoes and relays of 128 bytes or more: 300, 64 KiB, 300, 64 KiB, to ws only.
  EXPECT_EQ(compressed_out(server.port(), before + 4) - before, 4);
  EXPECT_EQ(ws.close(), 1000);
}

// Both libraries as members of a room that compresses its broadcasts as one stream: each keeps
// its inflater's window from one message to the next, as the answer lets it, and inflates every
// message, each of which refers to the ones before it.
TEST(deflate_clients, python_websockets_and_node_ws_inflate_a_rooms_compression_stream) {
  auto const python = find_python_with_websockets();
  auto const node = find_program({"node", "nodejs"});
  if (!python.any_python || !node) GTEST_SKIP() << "python3 or node is not installed (scripts/install-deps installs them)";
  ASSERT_TRUE(python.path) << "no python3 here can import websockets; run scripts/install-deps";
  crier_process server({"--compression-context-members", "2"});
  script_client py({*python.path, clients_dir + "/deflate_websockets.py", url_of(server, "stream")});
  script_client ws({*node, clients_dir + "/deflate_ws.mjs", url_of(server, "stream")});
  py.next("open");
  ws.next("open");
  ws_client plain(server.port(), "/ws/stream");
  auto const compressions = [&] { return scrape_metrics(server.port()).at("crier_compressions_total"); };
  auto const before = compressions();
  auto const streamed_before = scrape_metrics(server.port()).at("crier_compressed_stream_messages_out_total");
  constexpr int messages = 120;
  auto const text = [](int i) { return words(150 + static_cast<std::size_t>(i * 37 % 250), i); };
  for (int i = 0; i < messages; ++i) {
    plain.send_text(text(i));
    EXPECT_TRUE(plain.receive(10s).data == text(i));
  }
  for (int i = 0; i < messages; ++i) {
    SCOPED_TRACE("message " + std::to_string(i));
    for (auto* c : {&py, &ws}) {
      auto const got = c->receive();
      EXPECT_TRUE(got.rsv1);
      ASSERT_TRUE(got.data == text(i)) << got.data.size() << " bytes, not " << text(i).size();
    }
  }
  // Each message compressed once, in the stream both follow from its first message.
  EXPECT_EQ(compressions() - before, messages);
  EXPECT_EQ(metric_reaching(server.port(), "crier_compressed_stream_messages_out_total", streamed_before + 2 * messages) -
              streamed_before,
            2 * messages);
  EXPECT_EQ(py.close(), 1000);
  EXPECT_EQ(ws.close(), 1000);
}

// wscat (ws underneath, deflate on by default, no flag to turn it on) as users run it: typing
// lines into it with a plain client in the room.
TEST(deflate_clients, wscat_with_compression_talks_to_a_plain_client) {
  auto const wscat_bin = std::string(CRIER_NODE_MODULES) + "/.bin/wscat";
  if (!find_program({"node", "nodejs"})) GTEST_SKIP() << "node is not installed (scripts/install-deps installs it)";
  ASSERT_TRUE(fs::exists(wscat_bin)) << "wscat is not installed; run scripts/install-deps";
  crier_process server;
  auto const before = compressed_out(server.port());

  // wscat first, so that its "ws open" is the room's only one: then it is a member.
  child_process wscat({wscat_bin, "-c", url_of(server, "wscat-deflate")});
  ASSERT_TRUE(server.wait_for_line(std::regex("ws open .*room=wscat-deflate"), 20s)) << server.log() << wscat.output();
  ws_client plain(server.port(), "/ws/wscat-deflate");

  // A long message from the plain client shows in wscat's output (and tells that wscat has taken
  // the 101, so it now sends what is typed).
  auto const long_line = words(300, 6);
  plain.send_text(long_line);
  EXPECT_EQ(plain.receive(10s).data, long_line);
  ASSERT_TRUE(wscat.wait_for(long_line + "\n", 20s)) << wscat.output();
  // It went to wscat compressed: wscat negotiated the extension (the plain client took none).
  EXPECT_EQ(compressed_out(server.port(), before + 1) - before, 1);

  // Lines typed into wscat reach the plain client (ws compresses each, see above): a short one and
  // a long one.
  auto const typed_long = words(1500, 7);
  wscat.write("hello from wscat\n" + typed_long + "\n");
  EXPECT_EQ(plain.receive(10s).data, "hello from wscat");
  auto const relayed = plain.receive(10s);
  EXPECT_EQ(relayed.data.size(), typed_long.size());
  EXPECT_TRUE(relayed.data == typed_long);
  // And wscat shows its own lines, as crier echoes them.
  EXPECT_TRUE(wscat.wait_for(typed_long + "\n", 20s)) << wscat.output();
  EXPECT_TRUE(contains(wscat.output(), "hello from wscat\n")) << wscat.output();
  // The long echo went compressed; the short one did not.
  EXPECT_EQ(compressed_out(server.port(), before + 2) - before, 2);
  EXPECT_FALSE(contains(wscat.output(), "error")) << wscat.output();
}

} // namespace
} // namespace crier::test
