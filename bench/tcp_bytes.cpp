// The sock_diag query behind tcp_sent_from_ports: one netlink dump of the TCP sockets of a
// family, with tcp_info, summed over those on the server's ports. No Asio here: <linux/tcp.h>,
// which has tcp_info, clashes with the <netinet/tcp.h> that Asio includes.

#include "bench/tcp_bytes.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>

namespace crier::bench {
namespace {

struct fd_closer {
  int fd;
  ~fd_closer() {
    if (fd >= 0) ::close(fd);
  }
};

// Netlink messages and their attributes are 4-byte aligned: the same as NLMSG_ALIGN and
// RTA_ALIGN, without those macros' C casts.
constexpr std::size_t align4(std::size_t n) noexcept {
  return (n + 3) & ~std::size_t{3};
}

template <class T>
T load(char const* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// tcpi_bytes_sent and tcpi_data_segs_out of one socket's attributes, or nullopt when it has no
// INET_DIAG_INFO long enough.
std::optional<tcp_sent> sent(char const* attrs, std::size_t len) {
  while (len >= sizeof(rtattr)) {
    auto const a = load<rtattr>(attrs);
    if (a.rta_len < sizeof(rtattr) || a.rta_len > len) return std::nullopt;
    if (a.rta_type == INET_DIAG_INFO) {
      constexpr auto bytes_at = offsetof(tcp_info, tcpi_bytes_sent);
      constexpr auto segs_at = offsetof(tcp_info, tcpi_data_segs_out);
      static_assert(segs_at < bytes_at);
      std::size_t const payload = a.rta_len - align4(sizeof(rtattr));
      if (payload < bytes_at + sizeof(std::uint64_t)) return std::nullopt;
      auto const info = attrs + align4(sizeof(rtattr));
      return tcp_sent{load<std::uint64_t>(info + bytes_at), load<std::uint32_t>(info + segs_at)};
    }
    auto const step = align4(a.rta_len);
    if (step >= len) break;
    attrs += step;
    len -= step;
  }
  return std::nullopt;
}

} // namespace

std::optional<tcp_sent> tcp_sent_from_ports(std::vector<std::uint16_t> const& ports, int family) {
  fd_closer s{::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)};
  if (s.fd < 0) return std::nullopt;
  timeval tv{2, 0}; // a kernel that does not answer must not hang the run
  ::setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.nlh.nlmsg_seq = 1;
  msg.req.sdiag_family = static_cast<std::uint8_t>(family);
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_ext = 1u << (INET_DIAG_INFO - 1);
  msg.req.idiag_states = ~0u; // every state: a connection the server is closing still counts
  // With one port the kernel filters by it; with several, the loop below does.
  if (ports.size() == 1) msg.req.id.idiag_sport = htons(ports.front());
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(s.fd, &msg, sizeof msg, 0, reinterpret_cast<sockaddr const*>(&kernel), sizeof kernel) < 0)
    return std::nullopt;

  alignas(8) static thread_local std::array<char, 256 * 1024> buf;
  tcp_sent total;
  bool missing = false;                              // a socket of the server without the field: the sum would be short
  for (int rounds = 0; rounds < 100'000; ++rounds) { // bounded, however many sockets there are
    auto const n = ::recv(s.fd, buf.data(), buf.size(), 0);
    if (n <= 0) return std::nullopt;
    auto len = static_cast<std::size_t>(n);
    char const* p = buf.data();
    while (len >= sizeof(nlmsghdr)) {
      auto const h = load<nlmsghdr>(p);
      if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > len) return std::nullopt;
      if (h.nlmsg_type == NLMSG_DONE) return missing ? std::nullopt : std::optional(total);
      if (h.nlmsg_type == NLMSG_ERROR) return std::nullopt;
      auto const body = align4(sizeof(nlmsghdr));
      if (h.nlmsg_len >= body + sizeof(inet_diag_msg)) {
        auto const d = load<inet_diag_msg>(p + body);
        auto const port = ntohs(d.id.idiag_sport);
        if (std::find(ports.begin(), ports.end(), port) != ports.end()) {
          auto const attrs = body + align4(sizeof(inet_diag_msg));
          if (h.nlmsg_len > attrs) {
            if (auto const t = sent(p + attrs, h.nlmsg_len - attrs)) {
              total.bytes += t->bytes;
              total.segments += t->segments;
            } else {
              missing = true;
            }
          } else {
            missing = true;
          }
        }
      }
      auto const step = align4(h.nlmsg_len);
      if (step >= len) break;
      p += step;
      len -= step;
    }
  }
  return std::nullopt;
}

} // namespace crier::bench
