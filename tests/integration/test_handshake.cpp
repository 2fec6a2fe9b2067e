// Bad opening handshakes on the real binary (RFC 6455 section 4.2): each gets the right HTTP error
// and never a 101, and the server carries on serving normal clients afterwards.
#include "tests/support/crier_process.hpp"
#include "tests/support/raw_ws.hpp"
#include "tests/support/ws_client.hpp"

#include <gtest/gtest.h>

#include <csignal>

namespace crier::test {
namespace {

// An upgrade request for /ws/hs with `fields` instead of the usual ones.
std::string request(std::string const& method, std::string const& fields, std::string const& target = "/ws/hs",
                    std::string const& version = "HTTP/1.1") {
  return method + " " + target + " " + version + "\r\n" + fields + "\r\n";
}

std::string const host = "Host: 127.0.0.1\r\n";
std::string const upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
// The same, asking the server to close the connection after its answer. (Beast reads only the
// first Connection field, so "close" has to share it with "Upgrade".)
std::string const upgrade_close = "Upgrade: websocket\r\nConnection: Upgrade, close\r\n";
std::string const key = "Sec-WebSocket-Key: " + std::string(raw_ws::sample_key) + "\r\n";
std::string const version13 = "Sec-WebSocket-Version: 13\r\n";

class handshake : public ::testing::Test {
protected:
  // Sends `bytes` on a fresh connection and returns the response (nullopt if the connection
  // ended without one). With `expect_close`, the server must also close the connection.
  std::optional<http_head> exchange(std::string const& bytes, bool expect_close = true) {
    raw_ws c;
    c.connect_tcp(server_.port());
    try {
      c.write_raw(bytes);
    } catch (std::exception const&) {
      // The server may answer and close before reading everything (a flood); its answer can
      // still be read.
    }
    auto head = c.read_http();
    if (expect_close) {
      EXPECT_TRUE(c.wait_tcp_close()) << "the server kept the connection open after a failed handshake";
    }
    return head;
  }

  // The server is up and serves WebSocket clients normally.
  void expect_server_still_works() {
    ws_client a(server_.port(), "/ws/hs");
    ws_client b(server_.port(), "/ws/hs");
    auto const msg = "still working #" + std::to_string(++round_);
    a.send_text(msg);
    EXPECT_EQ(a.receive().data, msg);
    EXPECT_EQ(b.receive().data, msg);
  }

  // After all that, the server still shuts down cleanly and exits 0 (under the asan-ubsan preset,
  // a leak or an error inside the server would change that).
  void TearDown() override {
    server_.signal(SIGTERM);
    EXPECT_EQ(server_.wait_exit(10s), 0) << server_.log();
  }

  crier_process server_;
  int round_ = 0;
};

TEST_F(handshake, the_reference_request_upgrades) {
  // The requests below are this one with one thing wrong.
  auto const head = exchange(request("GET", host + upgrade + key + version13), false);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 101U);
  EXPECT_EQ(head->field("sec-websocket-accept"), raw_ws::sample_accept);
}

TEST_F(handshake, missing_sec_websocket_key_gets_400) {
  auto const head = exchange(request("GET", host + upgrade + version13));
  ASSERT_TRUE(head) << "no response";
  EXPECT_EQ(head->status, 400U);
  expect_server_still_works();
}

TEST_F(handshake, malformed_sec_websocket_key_gets_400) {
  // RFC 6455 section 4.2.1: the key is the base64 encoding of 16 bytes, 24 characters.
  for (std::string const bad : {"", "abc", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ===",
                                "dGhlIHNhbXBsZSBub25jZQ=!", "!!!!!!!!!!!!!!!!!!!!!!==", "dGhlIHNhbXBsZSBub25jZQ==AAAA"}) {
    SCOPED_TRACE("key '" + bad + "'");
    auto const head = exchange(request("GET", host + upgrade + "Sec-WebSocket-Key: " + bad + "\r\n" + version13));
    ASSERT_TRUE(head) << "no response";
    EXPECT_EQ(head->status, 400U);
  }
  expect_server_still_works();
}

TEST_F(handshake, wrong_sec_websocket_version_gets_426_naming_13) {
  for (std::string const v : {"8", "12", "14", "0", "13, 8", "thirteen"}) {
    SCOPED_TRACE("version '" + v + "'");
    auto const head = exchange(request("GET", host + upgrade + key + "Sec-WebSocket-Version: " + v + "\r\n"));
    ASSERT_TRUE(head) << "no response";
    EXPECT_EQ(head->status, 426U);
    EXPECT_EQ(head->field("sec-websocket-version"), "13");
  }
  // Without the field at all, the request is simply malformed.
  auto const missing = exchange(request("GET", host + upgrade + key));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 400U);
  expect_server_still_works();
}

TEST_F(handshake, other_methods_with_upgrade_headers_get_405) {
  for (std::string const method : {"POST", "PUT", "DELETE", "PATCH"}) {
    for (std::string const target : {"/ws/hs", "/ws", "/"}) {
      SCOPED_TRACE(method + " " + target);
      auto const head =
        exchange(request(method, host + upgrade_close + key + version13 + "Content-Length: 0\r\n", target));
      ASSERT_TRUE(head) << "no response";
      EXPECT_EQ(head->status, 405U);
      EXPECT_NE(head->field("allow").find("GET"), std::string::npos);
    }
  }
  expect_server_still_works();
}

TEST_F(handshake, other_incomplete_upgrades_are_refused) {
  // Missing Host: malformed (400).
  auto const no_host = exchange(request("GET", upgrade + key + version13));
  ASSERT_TRUE(no_host);
  EXPECT_EQ(no_host->status, 400U);
  // Not an upgrade at all (no Upgrade field, or HTTP/1.0): a plain GET of a WebSocket path gets 426.
  for (auto const& req : {request("GET", host + "Connection: Upgrade, close\r\n" + key + version13),
                          request("GET", host + upgrade + key + version13, "/ws/hs", "HTTP/1.0")}) {
    auto const head = exchange(req);
    ASSERT_TRUE(head);
    EXPECT_EQ(head->status, 426U);
  }
  expect_server_still_works();
}

TEST_F(handshake, garbage_bytes_never_upgrade) {
  std::string binary_noise;
  for (int i = 0; i < 512; ++i) binary_noise.push_back(static_cast<char>((i * 167 + 13) % 256));
  for (std::string const& bytes : {
         std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), // a TLS ClientHello
         binary_noise,
         std::string("\0\0\0\0\r\n\r\n", 8),
         std::string("\r\n\r\n"),
         std::string("GET /ws/hs HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade websocket\r\n\r\n"), // no colon
         std::string("GET /ws/hs HTTP/1.1\r\nHost: 127.0.0.1\r\n\x01\x02: \x03\r\n\r\n"),
         std::string("GET /ws/\xff\xfe HTTP/1.1\r\n") + host + upgrade + key + version13 + "\r\n",
         encode_frame(out_frame{ws_op::text, "a frame before any handshake"}),
       }) {
    SCOPED_TRACE(::testing::PrintToString(bytes.substr(0, 40)));
    auto const head = exchange(bytes);
    // Either a 4xx or the connection simply closed; never a 101.
    if (head) {
      EXPECT_GE(head->status, 400U);
      EXPECT_LT(head->status, 500U);
    }
  }
  expect_server_still_works();
}

TEST_F(handshake, a_header_flood_gets_431) {
  // Many small fields, together well over the 8 KiB bound, on an upgrade request.
  std::string flood;
  for (int i = 0; flood.size() < 9 * 1024; ++i) flood += "X-Flood-" + std::to_string(i) + ": " + std::string(40, 'f') + "\r\n";
  auto const head = exchange(request("GET", host + upgrade + key + version13 + flood));
  ASSERT_TRUE(head) << "no response";
  EXPECT_EQ(head->status, 431U);

  // One huge field.
  auto const huge = exchange(request("GET", host + upgrade + key + version13 + "X-Huge: " + std::string(12 * 1024, 'h') + "\r\n"));
  ASSERT_TRUE(huge) << "no response";
  EXPECT_EQ(huge->status, 431U);

  // Just under the bound still upgrades.
  std::string fine;
  for (int i = 0; fine.size() < 7 * 1024; ++i) fine += "X-Fine-" + std::to_string(i) + ": " + std::string(40, 'f') + "\r\n";
  auto const ok = exchange(request("GET", host + upgrade + key + version13 + fine), false);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 101U);
  expect_server_still_works();
}

} // namespace
} // namespace crier::test
