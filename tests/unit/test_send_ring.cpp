// The send ring over real sockets (Unix stream pairs): what a slice adds goes out in the order
// added, a few hundred sends per system call, and each owner hears what its send did: all of
// it, part of it (a full socket), or the socket's error.
#include "server/session/send_ring.hpp"
#include "server/session/write_batch.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

namespace crier {
namespace {

struct socket_pair {
  int fds[2] = {-1, -1};
  socket_pair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0); }
  ~socket_pair() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
  socket_pair(socket_pair const&) = delete;
  socket_pair& operator=(socket_pair const&) = delete;
  std::string read_all_available() const {
    std::string out;
    char buf[65536];
    for (;;) {
      auto const n = ::recv(fds[1], buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
};

struct recorder final : ring_sender {
  std::vector<int>* order = nullptr;
  int id = 0;
  int calls = 0;
  int result = 0;
  std::size_t total = 0;
  bool collecting_during_sent = false;
  void sent(int r, write_batch& b, std::size_t t) override {
    ++calls;
    result = r;
    total = t;
    collecting_during_sent = send_ring::collecting() != nullptr;
    if (order != nullptr) order->push_back(id);
    b = write_batch{};
  }
};

// A batch of `pieces`, one buffer each, as the pump frames it.
write_batch batch_of(std::vector<std::string> const& pieces) {
  write_batch b;
  for (auto const& p : pieces) b.bytes.insert(b.bytes.end(), p.begin(), p.end());
  std::size_t at = 0;
  for (auto const& p : pieces) {
    b.buffers.emplace_back(b.bytes.data() + at, p.size());
    at += p.size();
  }
  return b;
}

class send_ring_test : public ::testing::Test {
protected:
  void SetUp() override {
    if (auto why = send_ring::probe(); !why.empty()) GTEST_SKIP() << "io_uring is refused here: " << why;
    send_ring::enable(true);
  }
  boost::asio::io_context ctx;
};

TEST_F(send_ring_test, a_slice_goes_out_in_order_with_one_system_call_per_32_sends) {
  auto& ring = boost::asio::use_service<send_ring>(ctx);
  constexpr int n = 300; // 9 calls of 32, then 12
  std::vector<std::unique_ptr<socket_pair>> pairs;
  std::vector<std::shared_ptr<recorder>> owners;
  std::vector<int> order;
  auto const sends_before = send_ring::sends_total();
  auto const submits_before = send_ring::submits_total();
  {
    send_ring::collect const collecting(ring);
    ASSERT_EQ(send_ring::collecting(), &ring);
    for (int i = 0; i < n; ++i) {
      pairs.push_back(std::make_unique<socket_pair>());
      owners.push_back(std::make_shared<recorder>());
      owners.back()->order = &order;
      owners.back()->id = i;
      // Every third batch has two buffers: the sendmsg path.
      auto b = i % 3 == 0 ? batch_of({"message ", std::to_string(i)}) : batch_of({"message " + std::to_string(i)});
      auto const total = b.bytes.size();
      // As the wake list does between two wake-ups.
      if (ring.full()) ring.flush();
      ASSERT_TRUE(ring.add(pairs.back()->fds[0], b, total, owners.back()));
      EXPECT_TRUE(b.buffers.empty()) << "the ring took the batch";
    }
    ring.flush();
  }
  EXPECT_EQ(send_ring::collecting(), nullptr);
  EXPECT_EQ(send_ring::sends_total() - sends_before, static_cast<std::uint64_t>(n));
  EXPECT_EQ(send_ring::submits_total() - submits_before, 10U);
  ASSERT_EQ(order.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
    auto const& o = *owners[static_cast<std::size_t>(i)];
    auto const expected = "message " + std::to_string(i);
    EXPECT_EQ(o.calls, 1);
    EXPECT_EQ(o.result, static_cast<int>(expected.size()));
    EXPECT_EQ(o.total, expected.size());
    EXPECT_FALSE(o.collecting_during_sent) << "a write made from sent() goes out at once";
    EXPECT_EQ(pairs[static_cast<std::size_t>(i)]->read_all_available(), expected);
  }
}

TEST_F(send_ring_test, a_full_socket_takes_part_and_an_error_comes_back_as_it_is) {
  auto& ring = boost::asio::use_service<send_ring>(ctx);
  socket_pair full, broken;
  int const small = 4096;
  ASSERT_EQ(::setsockopt(full.fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  ::close(broken.fds[1]);
  broken.fds[1] = -1;
  auto big = std::make_shared<recorder>();
  auto more = std::make_shared<recorder>();
  auto failed = std::make_shared<recorder>();
  {
    send_ring::collect const collecting(ring);
    auto b1 = batch_of({std::string(4 << 20, 'x')});
    ASSERT_TRUE(ring.add(full.fds[0], b1, 4 << 20, big));
    // Behind it on the same socket, in the same call: the socket is full by then, and the send
    // does not wait for room.
    auto b2 = batch_of({std::string(1024, 'y')});
    ASSERT_TRUE(ring.add(full.fds[0], b2, 1024, more));
    auto b3 = batch_of({"to nobody"});
    ASSERT_TRUE(ring.add(broken.fds[0], b3, 9, failed));
    ring.flush();
  }
  EXPECT_GT(big->result, 0);
  EXPECT_LT(big->result, 4 << 20);
  EXPECT_EQ(more->result, -EAGAIN);
  EXPECT_EQ(failed->result, -EPIPE); // and no SIGPIPE: the test is still running
  EXPECT_EQ(full.read_all_available(), std::string(static_cast<std::size_t>(big->result), 'x'));
}

TEST_F(send_ring_test, a_full_ring_refuses_an_add_and_leaves_the_batch_to_its_writer) {
  auto& ring = boost::asio::use_service<send_ring>(ctx);
  socket_pair p;
  auto owner = std::make_shared<recorder>();
  std::string expected;
  {
    send_ring::collect const collecting(ring);
    while (!ring.full()) {
      auto b = batch_of({"x"});
      ASSERT_TRUE(ring.add(p.fds[0], b, 1, owner));
      expected += "x";
    }
    auto b = batch_of({"refused"});
    EXPECT_FALSE(ring.add(p.fds[0], b, 7, owner));
    ASSERT_EQ(b.buffers.size(), 1U);
    EXPECT_EQ(std::string(static_cast<char const*>(b.buffers.front().data()), b.buffers.front().size()), "refused");
    ring.flush();
    EXPECT_FALSE(ring.full());
  }
  EXPECT_EQ(owner->calls, static_cast<int>(expected.size()));
  EXPECT_EQ(p.read_all_available(), expected);
}

TEST_F(send_ring_test, turned_off_nothing_collects) {
  send_ring::enable(false);
  boost::asio::io_context other;
  auto& ring = boost::asio::use_service<send_ring>(other);
  {
    send_ring::collect const collecting(ring);
    EXPECT_EQ(send_ring::collecting(), nullptr);
  }
  send_ring::enable(true);
}

TEST_F(send_ring_test, a_context_going_away_lets_go_of_what_was_added_unsent) {
  auto owner = std::make_shared<recorder>();
  socket_pair p;
  {
    boost::asio::io_context other;
    auto& ring = boost::asio::use_service<send_ring>(other);
    send_ring::collect const collecting(ring);
    auto b = batch_of({"never flushed"});
    ASSERT_TRUE(ring.add(p.fds[0], b, 13, owner));
    EXPECT_EQ(owner.use_count(), 2);
  }
  EXPECT_EQ(owner.use_count(), 1);
  EXPECT_EQ(owner->calls, 0);
  EXPECT_EQ(p.read_all_available(), "");
}

} // namespace
} // namespace crier
