// The drain: SIGTERM or SIGINT closes every session with 1001 and exits 0.
#include "tests/support/crier_process.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/beast/websocket/error.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <memory>

namespace crier::test {
namespace {

namespace websocket = boost::beast::websocket;

void expect_drain(int sig) {
  crier_process server({"--threads", "2"});
  std::vector<std::unique_ptr<ws_client>> clients;
  for (auto const* room : {"/ws/a", "/ws/a", "/ws/b", "/ws"})
    clients.push_back(std::make_unique<ws_client>(server.port(), room));
  server.signal(sig);
  for (auto& c : clients) {
    auto const r = c->read();
    EXPECT_EQ(r.ec, websocket::error::closed) << r.ec.message();
    EXPECT_EQ(c->close_code(), 1001);
    EXPECT_EQ(c->close_reason(), "going away");
  }
  EXPECT_EQ(server.wait_exit(10s), 0) << server.log();
  EXPECT_TRUE(server.wait_for_line(std::regex("shut down"), 1s));
}

TEST(shutdown, sigterm_closes_every_client_with_1001_and_exits_0) { expect_drain(SIGTERM); }

TEST(shutdown, sigint_does_the_same) { expect_drain(SIGINT); }

TEST(shutdown, with_no_clients_exits_at_once) {
  crier_process server;
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(5s), 0) << server.log();
}

TEST(shutdown, a_client_that_never_answers_the_close_is_cut_off_at_the_timeout) {
  crier_process server({"--shutdown-timeout", "300ms"});
  ws_client silent(server.port(), "/ws");
  // The client never reads, so it never answers the close frame.
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(10s), 0) << server.log();
}

} // namespace
} // namespace crier::test
