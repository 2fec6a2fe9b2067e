// The binary's command line as users meet it: exit codes and messages.
#include "tests/support/crier_process.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>

namespace crier::test {
namespace {

TEST(cli, a_bad_flag_exits_2_naming_it) {
  auto const r = crier_process::run_to_exit({"--port", "not-a-port"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--port"), std::string::npos) << r.err;
  auto const unknown = crier_process::run_to_exit({"--frobnicate"});
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.err.find("--frobnicate"), std::string::npos) << unknown.err;
}

TEST(cli, a_bad_environment_value_exits_2) {
  auto const r = crier_process::run_to_exit({}, 10s, {"CRIER_THREADS=zero"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--threads"), std::string::npos) << r.err;
}

TEST(cli, help_and_version) {
  auto const help = crier_process::run_to_exit({"--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("--max-message-size"), std::string::npos);
  auto const version = crier_process::run_to_exit({"--version"});
  EXPECT_EQ(version.status, 0);
  EXPECT_EQ(version.out, "crier " CRIER_VERSION "\n");
}

TEST(cli, a_failed_bind_exits_non_zero_and_says_why) {
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ip::tcp::acceptor taken(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  auto const port = std::to_string(taken.local_endpoint().port());
  auto const r = crier_process::run_to_exit({"--address", "127.0.0.1", "--port", port});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.status, -1) << "did not exit";
  EXPECT_NE(r.err.find("cannot bind 127.0.0.1:" + port), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("in use"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("listening on"), std::string::npos) << "half-started: " << r.err;
}

TEST(cli, port_0_listens_on_a_free_port_and_logs_it) {
  crier_process server;
  EXPECT_NE(server.port(), 0);
  EXPECT_TRUE(server.wait_for_line(std::regex("listening on http://127\\.0\\.0\\.1:" + std::to_string(server.port()))));
}

} // namespace
} // namespace crier::test
