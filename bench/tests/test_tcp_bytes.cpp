#include "bench/tcp_bytes.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace crier::bench {
namespace {

// A listening socket on a free loopback port; `a` gets its address. -1 on failure.
int listen_on_loopback(sockaddr_in& a) {
  int const l = ::socket(AF_INET, SOCK_STREAM, 0);
  if (l < 0) return -1;
  a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(l, 1) != 0 ||
      ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(l);
    return -1;
  }
  return l;
}

// A loopback connection made by hand: what the server side sends counts, what the client sends does not.
TEST(TcpBytes, CountsWhatTheListeningSideSentOnly) {
  sockaddr_in a{};
  int const l = listen_on_loopback(a);
  ASSERT_GE(l, 0);
  auto const port = ntohs(a.sin_port);
  int const c = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  int const s = ::accept(l, nullptr, nullptr);
  ASSERT_GE(s, 0);

  auto const before = tcp_sent_from_ports({port}, AF_INET);
  ASSERT_TRUE(before) << "no sock_diag answer";
  EXPECT_EQ(before->bytes, 0u);
  EXPECT_EQ(before->segments, 0u);
  std::string const out(10'000, 'x');
  ASSERT_EQ(::send(s, out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
  ASSERT_EQ(::send(c, out.data(), 777, 0), 777);
  std::string in(out.size(), '\0');
  std::size_t got = 0;
  while (got < in.size()) {
    auto const n = ::recv(c, in.data() + got, in.size() - got, 0);
    ASSERT_GT(n, 0);
    got += static_cast<std::size_t>(n);
  }
  auto const after = tcp_sent_from_ports({port}, AF_INET);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->bytes - before->bytes, out.size());
  EXPECT_GE(after->segments, 1u); // 10,000 bytes: one segment on loopback (64 KiB MSS) or a few
  EXPECT_LE(after->segments, 10u);
  // A second port that sent nothing adds nothing. It is a listener of this test's own: any other
  // port (port + 1, say) may be some other test's connection sending at this very moment.
  sockaddr_in b{};
  int const idle = listen_on_loopback(b);
  ASSERT_GE(idle, 0);
  auto const both = tcp_sent_from_ports({ntohs(b.sin_port), port}, AF_INET);
  ASSERT_TRUE(both);
  EXPECT_EQ(both->bytes, after->bytes);
  EXPECT_EQ(both->segments, after->segments);
  ::close(idle);
  ::close(s);
  ::close(c);
  ::close(l);
}

} // namespace
} // namespace crier::bench
