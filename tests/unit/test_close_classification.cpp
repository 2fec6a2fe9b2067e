// What a session's "ws close" line says: the code, who closed, and why, from the close the server
// decided on, how the last read ended and the close frame Beast received.
#include "server/session/close_classification.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/websocket/error.hpp>
#include <gtest/gtest.h>

namespace crier {
namespace {

namespace websocket = boost::beast::websocket;

TEST(close_classification, close_code_for_the_errors_beast_fails_a_connection_with) {
  EXPECT_EQ(close_code_for(websocket::error::message_too_big), 1009);
  EXPECT_EQ(close_code_for(websocket::error::bad_frame_payload), 1007);
  EXPECT_EQ(close_code_for(websocket::error::bad_opcode), 1002); // a protocol violation
  EXPECT_EQ(close_code_for(boost::asio::error::connection_reset), 0);
  EXPECT_EQ(close_code_for({}), 0);
}

TEST(close_classification, a_close_the_server_decided_is_the_servers_whatever_the_read_saw) {
  auto const c = classify_close(1008, websocket::error::closed, websocket::close_reason(websocket::close_code::normal));
  EXPECT_EQ(c.code, 1008);
  EXPECT_EQ(c.by, closed_by::server);
  EXPECT_EQ(c.detail, "");
  auto const cut = classify_close(1001, boost::asio::error::operation_aborted, {});
  EXPECT_EQ(cut.code, 1001);
  EXPECT_EQ(cut.by, closed_by::server);
}

TEST(close_classification, the_peers_close_with_its_code_and_reason) {
  auto const c = classify_close(0, websocket::error::closed, websocket::close_reason(websocket::close_code::normal, "bye"));
  EXPECT_EQ(c.code, 1000);
  EXPECT_EQ(c.by, closed_by::client);
  EXPECT_EQ(c.detail, "bye");
  EXPECT_EQ(to_string(c.by), "client");
}

TEST(close_classification, a_peer_close_without_a_status_is_1005) {
  auto const c = classify_close(0, websocket::error::closed, {});
  EXPECT_EQ(c.code, 1005);
  EXPECT_EQ(c.by, closed_by::client);
}

TEST(close_classification, a_peer_close_then_a_reset_is_still_the_peers) {
  // A browser closing a tab: its close frame arrives, then the reset fails the reply.
  auto const c = classify_close(0, boost::asio::error::connection_reset, websocket::close_reason(websocket::close_code::going_away, ""));
  EXPECT_EQ(c.code, 1001);
  EXPECT_EQ(c.by, closed_by::client);
}

TEST(close_classification, beast_failing_the_connection_is_the_servers_with_the_error) {
  auto const c = classify_close(0, websocket::error::message_too_big, {});
  EXPECT_EQ(c.code, 1009);
  EXPECT_EQ(c.by, closed_by::server);
  EXPECT_EQ(c.detail, boost::system::error_code(websocket::error::message_too_big).message());
}

TEST(close_classification, a_connection_lost_without_a_close_frame_is_the_networks) {
  auto const c = classify_close(0, boost::asio::error::connection_reset, {});
  EXPECT_EQ(c.code, 0); // logged as 1006
  EXPECT_EQ(c.by, closed_by::network);
  EXPECT_EQ(to_string(c.by), "network");
  EXPECT_EQ(c.detail, boost::system::error_code(boost::asio::error::connection_reset).message());
}

TEST(close_classification, the_server_s_reason_is_the_one_it_sent) {
  auto const c = classify_close(1008, websocket::error::closed, websocket::close_reason(websocket::close_code::normal),
                                "slow consumer");
  EXPECT_EQ(c.code, 1008);
  EXPECT_EQ(c.by, closed_by::server);
  EXPECT_EQ(c.detail, "slow consumer");
}

} // namespace
} // namespace crier
