// The Sec-WebSocket-Key check that Beast leaves out (RFC 6455 section 4.1).
#include "common/handshake.hpp"

#include <gtest/gtest.h>

#include <string>

namespace crier {
namespace {

TEST(websocket_key, accepts_the_base64_of_16_bytes) {
  EXPECT_TRUE(is_valid_websocket_key("dGhlIHNhbXBsZSBub25jZQ==")); // RFC 6455 section 1.3
  EXPECT_TRUE(is_valid_websocket_key("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_TRUE(is_valid_websocket_key("+/+/+/+/+/+/+/+/+/+/+w=="));
}

TEST(websocket_key, refuses_anything_else) {
  for (std::string const key : {"", "abc", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=",
                                "dGhlIHNhbXBsZSBub25jZQ===", "dGhlIHNhbXBsZSBub25jZQ=!", "dGhlIHNhbXBsZSBub25jZ===",
                                "dGhlIHNhbXBsZSBub25jZQ==AAAA", "dGhlIHNhbXBsZSBub25j ZQ==", "dGhlIHNhbXBsZSBub25j-Q==",
                                "AAAAAAAAAAAAAAAAAAAAAAAA"})
    EXPECT_FALSE(is_valid_websocket_key(key)) << key;
}

} // namespace
} // namespace crier
