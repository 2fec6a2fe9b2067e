// Room names and the WebSocket paths they come from.
#include "common/names.hpp"

#include <gtest/gtest.h>

namespace crier {
namespace {

TEST(names, valid_room_names) {
  EXPECT_TRUE(is_valid_room_name("lobby"));
  EXPECT_TRUE(is_valid_room_name("a"));
  EXPECT_TRUE(is_valid_room_name("Team-1.dev_ops"));
  EXPECT_TRUE(is_valid_room_name(std::string(64, 'x')));
  EXPECT_FALSE(is_valid_room_name(""));
  EXPECT_FALSE(is_valid_room_name(std::string(65, 'x')));
  EXPECT_FALSE(is_valid_room_name("has space"));
  EXPECT_FALSE(is_valid_room_name("slash/inside"));
  EXPECT_FALSE(is_valid_room_name("percent%20"));
  EXPECT_FALSE(is_valid_room_name("caf\xc3\xa9"));
}

TEST(names, websocket_paths) {
  EXPECT_EQ(room_from_ws_path("/ws"), "lobby");
  EXPECT_EQ(room_from_ws_path("/ws/"), "lobby");
  EXPECT_EQ(room_from_ws_path("/ws/general"), "general");
  EXPECT_EQ(room_from_ws_path("/ws/bad room"), "");
  EXPECT_EQ(room_from_ws_path("/ws/a/b"), "");
  EXPECT_EQ(room_from_ws_path("/ws/" + std::string(65, 'r')), "");
  EXPECT_FALSE(room_from_ws_path("/"));
  EXPECT_FALSE(room_from_ws_path("/wsx"));
  EXPECT_FALSE(room_from_ws_path("/index.html"));
}

} // namespace
} // namespace crier
