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

TEST(names, display_names) {
  std::string error;
  EXPECT_EQ(validate_display_name("ann", error), "ann");
  EXPECT_EQ(validate_display_name("  padded\t ", error), "padded");
  EXPECT_EQ(validate_display_name("J\xc3\xbcrgen", error), "J\xc3\xbcrgen");
  EXPECT_EQ(validate_display_name(std::string(32, 'n'), error), std::string(32, 'n'));
  // 32 characters, more bytes: the limit counts characters.
  std::string umlauts;
  for (int i = 0; i < 32; ++i) umlauts += "\xc3\xbc";
  EXPECT_EQ(validate_display_name(umlauts, error), umlauts);
  EXPECT_EQ(validate_display_name("<img src=x onerror=alert(1)>", error), "<img src=x onerror=alert(1)>");

  auto const refused = [&](std::string_view name, std::string_view why) {
    error.clear();
    EXPECT_FALSE(validate_display_name(name, error)) << name;
    EXPECT_NE(error.find(why), std::string::npos) << error;
  };
  refused("", "empty");
  refused("   ", "empty");
  refused(std::string(33, 'n'), "32");
  refused(umlauts + "x", "32");
  refused("bell\x07", "control");
  refused("new\nline", "control");
  refused("del\x7f", "control");
  refused("c1\xc2\x85", "control");
  refused("bad\xff", "UTF-8");
  refused("overlong\xc0\xaf", "UTF-8");
  refused("surrogate\xed\xa0\x80", "UTF-8");
  refused("cut\xe2\x82", "UTF-8");
}

} // namespace
} // namespace crier
