// The message size bound: up to --max-message-size passes, one byte more is closed with 1009,
// and the rest of the room is unaffected.
#include "tests/support/crier_process.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/beast/websocket/error.hpp>
#include <gtest/gtest.h>

namespace crier::test {
namespace {

namespace websocket = boost::beast::websocket;

TEST(limits, a_1_mib_message_passes_when_allowed) {
  crier_process server({"--max-message-size", "1MiB"});
  ws_client a(server.port(), "/ws/big");
  ws_client b(server.port(), "/ws/big");
  std::string big(1 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  a.send_text(big);
  EXPECT_EQ(b.receive().data, big);
  EXPECT_EQ(a.receive().data, big);
}

TEST(limits, a_message_over_the_limit_gets_1009_and_others_carry_on) {
  crier_process server({"--max-message-size", "1KiB"});
  ws_client sender(server.port(), "/ws/lim");
  ws_client bystander(server.port(), "/ws/lim");
  sender.send_text(std::string(1024, 'x')); // exactly the limit: fine
  EXPECT_EQ(bystander.receive().data.size(), 1024U);
  EXPECT_EQ(sender.receive().data.size(), 1024U);

  sender.send_binary(std::string(1025, 'y'));
  auto const r = sender.read();
  EXPECT_EQ(r.ec, websocket::error::closed) << r.ec.message();
  EXPECT_EQ(sender.close_code(), 1009);
  EXPECT_TRUE(server.wait_for_line(std::regex("code=1009"), 5s)) << server.log();

  // Nothing of the oversized message reached the room, and the room still works.
  ws_client late(server.port(), "/ws/lim");
  late.send_text("still here");
  EXPECT_EQ(bystander.receive().data, "still here");
}

} // namespace
} // namespace crier::test
