// fanout-floor: the least work a WebSocket fan-out server can do on this machine, as a yardstick
// for crier's latency in scenario (ii). It is not a server anyone should run.
//
// One thread, one epoll loop. Every connection that completes the upgrade joins the one room;
// every text or binary message received is framed once and handed to the kernel with one send()
// per member, in join order, straight from the read handler: no queue, no lock, no allocation,
// no wake-up of anything. What remains is the kernel's cost of a loopback TCP send (which also
// runs the receiver's side of TCP on the sending CPU) and the load generator's cost of reading.
// A p99 that this loop cannot reach in scenario (ii), no server on one thread can.
//
// It speaks just enough RFC 6455 for crier-bench: the upgrade, unfragmented masked client frames
// of up to 64 KiB, ping (answered), close (answered, then the connection is dropped). Anything
// else drops the connection. It listens on 127.0.0.1 only and prints the line bench/run looks
// for: "listening on http://127.0.0.1:PORT".

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

constexpr std::size_t max_request = 8192;
constexpr std::size_t max_payload = 64 * 1024;

volatile std::sig_atomic_t stop_requested = 0;
void on_signal(int) { stop_requested = 1; }

struct conn {
  int fd = -1;
  bool upgraded = false;
  std::string in;      // bytes read and not yet parsed
  std::string pending; // bytes the kernel did not take; flushed on EPOLLOUT
};

std::string accept_key(std::string_view key) {
  std::string const s = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<unsigned char const*>(s.data()), s.size(), digest.data());
  std::array<unsigned char, 4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1> b64{};
  int const n = EVP_EncodeBlock(b64.data(), digest.data(), SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char const*>(b64.data()), static_cast<std::size_t>(n));
}

// The value of header `name` (case-insensitive) in an HTTP request, or empty.
std::string_view header_value(std::string_view req, std::string_view name) {
  std::size_t pos = req.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < req.size()) {
    std::size_t const start = pos + 2;
    std::size_t const end = req.find("\r\n", start);
    if (end == std::string_view::npos) break;
    std::string_view const line = req.substr(start, end - start);
    std::size_t const colon = line.find(':');
    if (colon == name.size() && std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      return v;
    }
    pos = end;
  }
  return {};
}

// An unmasked server frame: FIN, opcode, payload.
void frame(std::string& out, unsigned opcode, std::string_view payload) {
  out.push_back(static_cast<char>(0x80U | opcode));
  if (payload.size() < 126) {
    out.push_back(static_cast<char>(payload.size()));
  } else {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>((payload.size() >> 8) & 0xFFU));
    out.push_back(static_cast<char>(payload.size() & 0xFFU));
  }
  out.append(payload);
}

class floor_server {
public:
  explicit floor_server(int listen_fd) : listen_fd_(listen_fd), epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {
    if (epoll_fd_ < 0) fail("epoll_create1");
    add(listen_fd_, EPOLLIN);
  }

  int run() {
    std::array<epoll_event, 256> events{};
    while (stop_requested == 0) {
      int const n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 200);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail("epoll_wait");
      }
      for (int i = 0; i < n; ++i) {
        int const fd = events[static_cast<std::size_t>(i)].data.fd;
        std::uint32_t const ev = events[static_cast<std::size_t>(i)].events;
        if (fd == listen_fd_) {
          accept_all();
          continue;
        }
        if ((ev & EPOLLOUT) != 0U) flush(fd);
        if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0U) read_from(fd);
      }
    }
    std::printf("stopped: %zu connections open\n", open_);
    return 0;
  }

private:
  [[noreturn]] static void fail(char const* what) {
    std::fprintf(stderr, "fanout-floor: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
  }

  void add(int fd, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) fail("epoll_ctl add");
  }

  void modify(int fd, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0) fail("epoll_ctl mod");
  }

  void accept_all() {
    for (;;) {
      int const fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        if (errno == EMFILE || errno == ENFILE) return; // retried on the next readiness
        fail("accept4");
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (static_cast<std::size_t>(fd) >= conns_.size()) conns_.resize(static_cast<std::size_t>(fd) + 1);
      conns_[static_cast<std::size_t>(fd)] = conn{fd, false, {}, {}};
      ++open_;
      add(fd, EPOLLIN);
    }
  }

  void drop(int fd) {
    conn& c = conns_[static_cast<std::size_t>(fd)];
    if (c.fd < 0) return;
    if (c.upgraded) std::erase(members_, fd);
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    c = conn{};
    --open_;
  }

  // Sends what the kernel takes now; the rest waits in `pending` for EPOLLOUT.
  void send_to(int fd, std::string_view bytes) {
    conn& c = conns_[static_cast<std::size_t>(fd)];
    if (!c.pending.empty()) {
      c.pending.append(bytes);
      return;
    }
    ssize_t const n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    std::size_t sent = 0;
    if (n >= 0) {
      sent = static_cast<std::size_t>(n);
    } else if (errno != EAGAIN) {
      return; // the read side sees the error and drops the connection
    }
    if (sent < bytes.size()) {
      c.pending.assign(bytes.substr(sent));
      modify(fd, EPOLLIN | EPOLLOUT);
    }
  }

  void flush(int fd) {
    conn& c = conns_[static_cast<std::size_t>(fd)];
    if (c.fd < 0 || c.pending.empty()) return;
    ssize_t const n = ::send(fd, c.pending.data(), c.pending.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN) drop(fd);
      return;
    }
    c.pending.erase(0, static_cast<std::size_t>(n));
    if (c.pending.empty()) modify(fd, EPOLLIN);
  }

  void read_from(int fd) {
    conn& c = conns_[static_cast<std::size_t>(fd)];
    if (c.fd < 0) return;
    std::array<char, 65536> buf{};
    for (;;) {
      ssize_t const n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n == 0) return drop(fd);
      if (n < 0) {
        if (errno == EAGAIN) break; // EWOULDBLOCK is the same value on Linux
        if (errno == EINTR) continue;
        return drop(fd);
      }
      c.in.append(buf.data(), static_cast<std::size_t>(n));
      if (static_cast<std::size_t>(n) < buf.size()) break;
    }
    if (!c.upgraded && !upgrade(c)) return;
    parse(fd);
  }

  // false: the connection was dropped or the request is still incomplete.
  bool upgrade(conn& c) {
    std::size_t const end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (c.in.size() > max_request) drop(c.fd);
      return false;
    }
    std::string_view const req(c.in.data(), end + 2);
    std::string_view const key = header_value(req, "Sec-WebSocket-Key");
    int const fd = c.fd;
    if (key.empty()) {
      send_to(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      drop(fd);
      return false;
    }
    std::string const response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                 "Sec-WebSocket-Accept: " + accept_key(key) + "\r\n\r\n";
    c.in.erase(0, end + 4);
    c.upgraded = true;
    members_.push_back(fd);
    send_to(fd, response);
    return true;
  }

  void parse(int fd) {
    for (;;) {
      conn& c = conns_[static_cast<std::size_t>(fd)];
      if (c.fd < 0) return;
      auto const* p = reinterpret_cast<unsigned char const*>(c.in.data());
      std::size_t const avail = c.in.size();
      if (avail < 2) return;
      bool const fin = (p[0] & 0x80U) != 0;
      unsigned const opcode = p[0] & 0x0FU;
      bool const masked = (p[1] & 0x80U) != 0;
      std::size_t len = p[1] & 0x7FU;
      std::size_t pos = 2;
      if (len == 126) {
        if (avail < 4) return;
        len = (std::size_t{p[2]} << 8) | p[3];
        pos = 4;
      } else if (len == 127) {
        return drop(fd); // more than this yardstick handles
      }
      if (!fin || !masked || (p[0] & 0x70U) != 0 || len > max_payload) return drop(fd);
      if (avail < pos + 4 + len) return;
      std::array<unsigned char, 4> const key{p[pos], p[pos + 1], p[pos + 2], p[pos + 3]};
      pos += 4;
      payload_.assign(c.in, pos, len);
      for (std::size_t i = 0; i < len; ++i) payload_[i] = static_cast<char>(static_cast<unsigned char>(payload_[i]) ^ key[i % 4]);
      c.in.erase(0, pos + len);

      if (opcode == 0x1 || opcode == 0x2) {
        out_.clear();
        frame(out_, opcode, payload_);
        // The whole point: one send per member, nothing else.
        for (std::size_t i = 0; i < members_.size(); ++i) send_to(members_[i], out_);
      } else if (opcode == 0x9) {
        out_.clear();
        frame(out_, 0xA, payload_);
        send_to(fd, out_);
      } else if (opcode == 0x8) {
        out_.clear();
        frame(out_, 0x8, std::string_view(payload_).substr(0, std::min<std::size_t>(payload_.size(), 2)));
        send_to(fd, out_);
        return drop(fd);
      } else if (opcode != 0xA) {
        return drop(fd);
      }
    }
  }

  int listen_fd_;
  int epoll_fd_;
  std::vector<conn> conns_; // by descriptor
  std::vector<int> members_; // upgraded connections, in join order
  std::size_t open_ = 0;
  std::string payload_;
  std::string out_;
};

} // namespace

int main(int argc, char** argv) {
  unsigned long port = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view const a = argv[i];
    if (a == "--port" && i + 1 < argc) {
      char* end = nullptr;
      port = std::strtoul(argv[++i], &end, 10);
      if (*end != '\0' || port > 65535) {
        std::fprintf(stderr, "fanout-floor: --port: 0-65535\n");
        return 2;
      }
    } else {
      std::fprintf(stderr, "usage: fanout-floor [--port N]   (listens on 127.0.0.1; 0: any free port)\n");
      return a == "-h" || a == "--help" ? 0 : 2;
    }
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  int const fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("fanout-floor: socket");
    return 1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 4096) != 0) {
    std::perror("fanout-floor: bind/listen");
    return 1;
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("fanout-floor: listening on http://127.0.0.1:%u\n", unsigned{ntohs(addr.sin_port)});
  std::fflush(stdout);
  return floor_server(fd).run();
}
