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

TEST(names, room_names_of_dots_only_are_path_segments_not_rooms) {
  EXPECT_FALSE(is_valid_room_name("."));
  EXPECT_FALSE(is_valid_room_name(".."));
  EXPECT_FALSE(is_valid_room_name("..."));
  EXPECT_TRUE(is_valid_room_name(".hidden"));
  EXPECT_TRUE(is_valid_room_name("a..b"));
  EXPECT_EQ(room_from_ws_path("/ws/.."), "");
  EXPECT_EQ(room_from_ws_path("/ws/."), "");
}

TEST(names, display_names_refuse_invisible_formatting) {
  std::string error;
  // U+202E RIGHT-TO-LEFT OVERRIDE, U+2066 LEFT-TO-RIGHT ISOLATE, U+200B ZERO WIDTH SPACE,
  // U+200D ZERO WIDTH JOINER, U+2028 LINE SEPARATOR, U+FEFF BOM, U+061C ARABIC LETTER MARK.
  for (std::string const bad : {"\xe2\x80\xaennA", "a\xe2\x81\xa6" "b", "an\xe2\x80\x8bn", "a\xe2\x80\x8d" "b",
                                "ann\xe2\x80\xa8" "bob", "\xef\xbb\xbf" "ann", "a\xd8\x9c" "b", "a\xe2\x80\x8f" "b"}) {
    error.clear();
    EXPECT_FALSE(validate_display_name(bad, error)) << bad;
    EXPECT_NE(error.find("invisible"), std::string::npos) << error;
  }
  // Right-to-left scripts themselves are names like any other.
  EXPECT_EQ(validate_display_name("\xd7\xa9\xd7\xa8\xd7\x94", error), "\xd7\xa9\xd7\xa8\xd7\x94");
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
