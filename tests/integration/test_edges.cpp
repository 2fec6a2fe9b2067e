// Hostile or odd inputs that once got through, each on the real binary: what is answered, and
// what reaches the log.
#include "tests/support/crier_process.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <string>

namespace crier::test {
namespace {

namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;

std::string upgrade_request(std::string const& target, std::string const& extra = {}) {
  return "GET " + target +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
         extra + "\r\n";
}

TEST(edges, room_names_of_dots_only_are_refused) {
  crier_process server;
  for (std::string const target : {"/ws/.", "/ws/..", "/ws/..."}) {
    auto const r = http_raw(server.port(), upgrade_request(target));
    ASSERT_FALSE(r.ec) << target << ": " << r.ec.message();
    EXPECT_EQ(r.response.result(), http::status::bad_request) << target;
    EXPECT_NE(r.response.body().find("invalid room name"), std::string::npos) << r.response.body();
  }
  // A name that merely contains dots is still a room.
  auto const ok = http_raw(server.port(), upgrade_request("/ws/a..b"));
  EXPECT_EQ(ok.response.result(), http::status::switching_protocols);
}

TEST(edges, names_with_bidi_overrides_zero_width_or_line_separators_are_refused) {
  crier_process server;
  // %E2%80%AE is U+202E (right-to-left override), %E2%80%8B U+200B, %E2%80%A8 U+2028.
  for (std::string const name : {"%E2%80%AEnnA", "an%E2%80%8Bn", "ann%E2%80%A8bob"}) {
    auto const r = http_raw(server.port(), upgrade_request("/ws/lobby?name=" + name));
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.response.result(), http::status::bad_request) << name;
    EXPECT_NE(r.response.body().find("invisible"), std::string::npos) << r.response.body();
  }
}

TEST(edges, a_token_parameter_in_any_case_is_redacted_in_the_debug_log) {
  crier_process server({"--log-level", "debug"});
  http_get(server.port(), "/nope?TOKEN=upper-secret");
  http_get(server.port(), "/nope?Token=mixed-secret&x=1");
  http_get(server.port(), "/nope?%74oken=encoded-secret");
  server.signal(SIGTERM);
  server.wait_exit();
  auto const log = server.log();
  EXPECT_EQ(log.find("upper-secret"), std::string::npos) << log;
  EXPECT_EQ(log.find("mixed-secret"), std::string::npos) << log;
  EXPECT_EQ(log.find("encoded-secret"), std::string::npos) << log;
  EXPECT_NE(log.find("TOKEN=***"), std::string::npos) << log;
}

TEST(edges, json_log_lines_stay_valid_utf8_json_whatever_the_peer_sends) {
  crier_process server({"--log-format", "json", "--log-level", "debug"});
  // Raw invalid UTF-8 in the Origin header (refused, and logged with the origin) and in the
  // request target (logged at debug).
  auto const refused = http_raw(server.port(), upgrade_request("/ws/lobby", "Origin: http://ev\xff\xfeil.example\r\n"));
  EXPECT_EQ(refused.response.result(), http::status::forbidden);
  http_raw(server.port(), "GET /caf\xc3\x28\xe2\x82?x=\xff HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  ASSERT_TRUE(server.wait_for_line(std::regex("origin not allowed")));
  server.signal(SIGTERM);
  server.wait_exit();
  bool saw_origin = false;
  for (auto const& line : server.lines()) {
    boost::system::error_code ec;
    auto const v = boost::json::parse(line, ec); // Boost.JSON refuses invalid UTF-8 in strings
    ASSERT_FALSE(ec) << "not valid JSON: " << line;
    auto const& o = v.as_object();
    if (o.at("msg") == "ws upgrade refused: origin not allowed") {
      saw_origin = true;
      EXPECT_EQ(o.at("origin"), "http://ev\xef\xbf\xbd\xef\xbf\xbdil.example") << line;
    }
  }
  EXPECT_TRUE(saw_origin) << server.log();
}

} // namespace
} // namespace crier::test
