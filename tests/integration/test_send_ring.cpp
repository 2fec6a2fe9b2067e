// Writes batched through io_uring (--io-uring) on the real binary: a big room's broadcasts reach
// every member in order while the writes go to the kernel dozens per system call; a reader
// whose socket fills gets the rest through the gate, in order; a big write is made at once, not
// collected; off (the default), each write is its own send() and the ring's counters stay at
// zero. Every other integration test goes through the ring (and its 1 ms batch window) too when
// scripts/test runs them again with CRIER_IO_URING=on.
#include "tests/support/crier_process.hpp"
#include "tests/support/ws_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/socket_base.hpp>

#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace crier::test {
namespace {

// Whether the server said at start that the kernel refused io_uring (a sandbox's seccomp
// profile may): then there is nothing of the ring's to see.
bool refused(crier_process const& server) { return server.log().find("io_uring refused") != std::string::npos; }

std::vector<std::unique_ptr<ws_client>> members(std::uint16_t port, std::string const& room, int n) {
  std::vector<std::unique_ptr<ws_client>> v;
  for (int i = 0; i < n; ++i) v.push_back(std::make_unique<ws_client>(port, "/ws/" + room));
  return v;
}

TEST(send_ring, a_big_rooms_broadcasts_go_to_the_kernel_dozens_of_writes_per_system_call) {
  crier_process server({"--io-uring", "on"});
  if (refused(server)) GTEST_SKIP() << "io_uring is refused here:\n" << server.log();
  EXPECT_TRUE(server.wait_for_line(std::regex("writes batched through io_uring"), 1s)) << server.log();
  // More members than one slice of the wake list (256): two slices, ten system calls a message
  // (32 writes each, the rest of a slice in the last).
  constexpr int n = 300;
  constexpr int messages = 20;
  auto clients = members(server.port(), "big", n);
  for (int m = 0; m < messages; ++m) clients.front()->send_text("message " + std::to_string(m));
  for (int i = 0; i < n; ++i)
    for (int m = 0; m < messages; ++m)
      ASSERT_EQ(clients[static_cast<std::size_t>(i)]->receive().data, "message " + std::to_string(m)) << "member " << i;
  EXPECT_GE(metric_once(server.port(), "crier_messages_out_total", [](double v) { return v >= n * messages; }), n * messages);
  auto const sends = metric(server.port(), "crier_io_uring_sends_total");
  auto const submits = metric(server.port(), "crier_io_uring_submits_total");
  // At least one write per member; several messages may share one.
  EXPECT_GE(sends, n);
  EXPECT_LE(sends, n * messages);
  EXPECT_GE(submits, 2);
  // Dozens on a quiet machine; on a busy one a slice may hold fewer wake-ups.
  EXPECT_GE(sends / submits, 4) << sends << " sends in " << submits << " system calls";
}

TEST(send_ring, a_reader_whose_socket_fills_gets_the_rest_through_the_gate_in_order) {
  crier_process::options opts;
  opts.env = {"CRIER_IO_URING=on"}; // the environment's spelling of the flag, for once
  // Room for all of it in the queues: more than the kernel's socket buffers can take (the
  // sender's grows up to 4 MiB here), less than the bound.
  // Without a batch window, writes stay small enough for the ring (send_ring::worth_collecting)
  // more often: the ring's writes and the ones made at once interleave.
  crier_process server({"--max-queue-bytes", "32MiB", "--max-queue-messages", "100000", "--batch-window", "0"}, opts);
  if (refused(server)) GTEST_SKIP() << "io_uring is refused here:\n" << server.log();
  ws_client sender(server.port(), "/ws/fill");
  ws_client slow(server.port(), "/ws/fill");
  // A small window, and neither reads while the messages go out: their sockets fill, the ring's
  // sends come back short or refused, and the rest (of 8 MiB each) waits in their queues. Not
  // smaller than loopback's segment (64 KiB): below it, each time the window opens TCP may wait
  // for its persist timer, and reading 8 MiB took a minute.
  slow.stream().next_layer().socket().set_option(boost::asio::socket_base::receive_buffer_size(128 * 1024));
  constexpr int messages = 8192;
  std::string const filler(1000, 'x');
  for (int m = 0; m < messages; ++m) sender.send_text(std::to_string(m) + ":" + filler);
  EXPECT_GT(metric_once(server.port(), "crier_queued_bytes", [](double v) { return v > 0; }), 0)
    << "the sockets took everything: nothing went the short way";
  for (int m = 0; m < messages; ++m) {
    auto const got = slow.receive(10s).data;
    ASSERT_EQ(got.substr(0, got.find(':')), std::to_string(m));
    ASSERT_EQ(got.size(), std::to_string(m).size() + 1 + filler.size());
  }
  for (int m = 0; m < messages; ++m) ASSERT_EQ(sender.receive(10s).data.substr(0, std::to_string(m).size() + 1), std::to_string(m) + ":");
  EXPECT_GT(metric(server.port(), "crier_io_uring_sends_total"), 0);
  EXPECT_EQ(metric(server.port(), "crier_slow_consumer_closes_total"), 0);
}

TEST(send_ring, a_write_of_a_page_or_more_goes_out_at_once) {
  // Collecting saves a write its kernel entry, nothing next to copying 8 KiB: a room's big
  // messages are sent at once, one send() each, and the ring is not used.
  crier_process server({"--io-uring", "on"});
  if (refused(server)) GTEST_SKIP() << "io_uring is refused here:\n" << server.log();
  constexpr int n = 10;
  constexpr int messages = 5;
  auto clients = members(server.port(), "big", n);
  std::string const filler(8 * 1024, 'b');
  for (int m = 0; m < messages; ++m) {
    clients.front()->send_text(std::to_string(m) + filler);
    // One at a time, so that each write is one message of 8 KiB.
    for (auto& c : clients) ASSERT_EQ(c->receive().data, std::to_string(m) + filler);
  }
  EXPECT_GE(metric_once(server.port(), "crier_messages_out_total", [](double v) { return v >= n * messages; }), n * messages);
  EXPECT_EQ(metric(server.port(), "crier_io_uring_sends_total"), 0);
}

TEST(send_ring, off_each_write_is_its_own_send) {
  // The flag, which outranks the environment (scripts/test runs the suite again with
  // CRIER_IO_URING=on); the unit tests check that off is the default.
  crier_process server({"--io-uring", "off"});
  EXPECT_EQ(server.log().find("io_uring"), std::string::npos) << "off says nothing of io_uring:\n" << server.log();
  constexpr int n = 50;
  constexpr int messages = 5;
  auto clients = members(server.port(), "off", n);
  for (int m = 0; m < messages; ++m) clients.front()->send_text("message " + std::to_string(m));
  for (auto& c : clients)
    for (int m = 0; m < messages; ++m) ASSERT_EQ(c->receive().data, "message " + std::to_string(m));
  EXPECT_GE(metric_once(server.port(), "crier_messages_out_total", [](double v) { return v >= n * messages; }), n * messages);
  EXPECT_EQ(metric(server.port(), "crier_io_uring_sends_total"), 0);
  EXPECT_EQ(metric(server.port(), "crier_io_uring_submits_total"), 0);
}

} // namespace
} // namespace crier::test
