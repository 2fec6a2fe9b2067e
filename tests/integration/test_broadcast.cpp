// Fan-out over real sockets: everyone in a room gets every message, the sender included, with the
// same opcode and bytes; rooms are isolated; nothing is lost, duplicated or reordered.
#include "tests/support/crier_process.hpp"
#include "tests/support/ws_client.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <regex>

namespace crier::test {
namespace {

TEST(broadcast, two_clients_each_get_both_messages_including_their_own) {
  crier_process server;
  ws_client a(server.port(), "/ws/chat");
  ws_client b(server.port(), "/ws/chat");
  // A client is a member from the moment its handshake completes.
  a.send_text("from a");
  EXPECT_EQ(a.receive().data, "from a");
  EXPECT_EQ(b.receive().data, "from a");
  b.send_text("from b");
  EXPECT_EQ(a.receive().data, "from b");
  EXPECT_EQ(b.receive().data, "from b");
}

TEST(broadcast, the_default_path_is_the_lobby) {
  crier_process server;
  ws_client a(server.port(), "/ws");
  ws_client b(server.port(), "/ws/lobby");
  a.send_text("hello lobby");
  EXPECT_EQ(a.receive().data, "hello lobby"); // a's own echo proves the room is live for a
  b.send_text("second");
  // a gets b's message only if both are in the same room.
  EXPECT_EQ(a.receive().data, "second");
}

TEST(broadcast, rooms_are_isolated) {
  crier_process server;
  ws_client red(server.port(), "/ws/red");
  ws_client blue(server.port(), "/ws/blue");
  red.send_text("red only");
  blue.send_text("blue only");
  EXPECT_EQ(red.receive().data, "red only");
  EXPECT_EQ(blue.receive().data, "blue only");
  // Each room's next message is its own: nothing leaked across.
  red.send_text("red again");
  blue.send_text("blue again");
  EXPECT_EQ(red.receive().data, "red again");
  EXPECT_EQ(blue.receive().data, "blue again");
}

TEST(broadcast, binary_stays_binary_and_text_stays_text) {
  crier_process server;
  ws_client a(server.port(), "/ws/bin");
  ws_client b(server.port(), "/ws/bin");
  std::string payload;
  for (int i = 0; i < 256; ++i) payload.push_back(static_cast<char>(i)); // every byte value, NUL included
  a.send_binary(payload);
  a.receive();
  b.send_text("text after");
  auto const got_a = a.receive();
  EXPECT_EQ(got_a.data, "text after");
  EXPECT_FALSE(got_a.binary);
  // b joined before a sent, so b sees the binary message first.
  auto const first = b.receive();
  EXPECT_TRUE(first.binary);
  EXPECT_EQ(first.data, payload);
  auto const second = b.receive();
  EXPECT_FALSE(second.binary);
  EXPECT_EQ(second.data, "text after");
}

TEST(broadcast, fifty_clients_each_receive_every_message_in_one_order) {
  crier_process server({"--threads", "2"});
  constexpr int clients = 50;
  constexpr int per_client = 2; // 100 messages in all
  std::vector<std::unique_ptr<ws_client>> members;
  for (int i = 0; i < clients; ++i) members.push_back(std::make_unique<ws_client>(server.port(), "/ws/crowd"));
  // A client is a member as soon as its handshake completes, so all 50 are in the room now.
  for (int round = 0; round < per_client; ++round)
    for (int i = 0; i < clients; ++i) members[static_cast<std::size_t>(i)]->send_text(std::to_string(i) + ":" + std::to_string(round));

  std::vector<std::string> reference;
  for (int i = 0; i < clients; ++i) {
    std::vector<std::string> got;
    for (int n = 0; n < clients * per_client; ++n) got.push_back(members[static_cast<std::size_t>(i)]->receive().data);
    // The next message is the end marker: nothing extra (no duplicate) came in between.
    if (i == 0) members[0]->send_text("end");
    EXPECT_EQ(members[static_cast<std::size_t>(i)]->receive().data, "end") << "client " << i << " got extra messages";
    std::map<std::string, int> counts;
    for (auto const& m : got) ++counts[m];
    ASSERT_EQ(counts.size(), static_cast<std::size_t>(clients * per_client)) << "client " << i << " lost or duplicated";
    // Per sender, round 0 arrives before round 1.
    std::map<std::string, int> last_round;
    for (auto const& m : got) {
      auto const sender = m.substr(0, m.find(':'));
      int const r = std::stoi(m.substr(m.find(':') + 1));
      if (last_round.contains(sender)) {
        EXPECT_LT(last_round[sender], r) << "reordered for client " << i;
      }
      last_round[sender] = r;
    }
    // A room is one ordered stream: every member sees the same sequence.
    if (i == 0) reference = got;
    else EXPECT_EQ(got, reference) << "client " << i << " saw a different order";
  }
}

} // namespace
} // namespace crier::test
