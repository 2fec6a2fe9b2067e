// The write gate under Beast: whole writes take turns in the order they were asked for, and the
// synchronous fast path writes only when nothing else is in flight. Over a real loopback socket.
#include "server/session/write_gate.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace crier {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct socket_pair {
  asio::io_context ioc;
  tcp::socket peer{ioc};
  write_gate<boost::beast::tcp_stream> gate{boost::beast::tcp_stream(ioc)};

  socket_pair() {
    tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    gate.next_layer().socket().connect(acceptor.local_endpoint());
    acceptor.accept(peer);
  }

  std::string read_exactly(std::size_t n) {
    std::string out(n, '\0');
    asio::read(peer, asio::buffer(out));
    return out;
  }
};

TEST(write_gate, writes_now_when_idle) {
  socket_pair p;
  std::string const hello = "hello, synchronously";
  EXPECT_EQ(p.gate.write_now(asio::buffer(hello)), hello.size());
  EXPECT_EQ(p.read_exactly(hello.size()), hello);
}

TEST(write_gate, whole_writes_go_out_in_the_order_asked_and_write_now_waits_its_turn) {
  socket_pair p;
  // Far more than the socket buffers hold, so the first write cannot finish until the peer reads.
  std::string const big(32 << 20, 'b');
  std::string const small = "after the big one";
  std::size_t big_written = 0, small_written = 0;
  int order = 0, big_done = 0, small_done = 0;
  p.gate.async_write_some(asio::buffer(big), [&](boost::system::error_code ec, std::size_t n) {
    EXPECT_FALSE(ec) << ec.message();
    big_written = n;
    big_done = ++order;
  });
  p.gate.async_write_some(asio::buffer(small), [&](boost::system::error_code ec, std::size_t n) {
    EXPECT_FALSE(ec) << ec.message();
    small_written = n;
    small_done = ++order;
  });
  EXPECT_TRUE(p.gate.writing());
  std::string const cut_in = "cut in";
  EXPECT_EQ(p.gate.write_now(asio::buffer(cut_in)), 0u) << "a write is in progress: nothing may cut in";

  std::string received;
  std::thread reader([&] { received = p.read_exactly(big.size() + small.size()); });
  p.ioc.run();
  reader.join();
  EXPECT_EQ(big_written, big.size()); // a "write some" that writes everything
  EXPECT_EQ(small_written, small.size());
  EXPECT_EQ(big_done, 1);
  EXPECT_EQ(small_done, 2);
  EXPECT_FALSE(p.gate.writing());
  ASSERT_EQ(received.size(), big.size() + small.size());
  EXPECT_TRUE(received.compare(0, big.size(), big) == 0);
  EXPECT_EQ(received.substr(big.size()), small);
}

} // namespace
} // namespace crier
