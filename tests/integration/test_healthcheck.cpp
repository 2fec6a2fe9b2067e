// `crier healthcheck [URL]`, the container health probe, against a real server and against
// addresses where nothing (or nothing useful) answers.
#include "tests/support/crier_process.hpp"
#include "tests/support/test_certificate.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <unistd.h>

namespace crier::test {
namespace {

namespace asio = boost::asio;

std::string url(std::uint16_t port, std::string const& path = "/healthz") {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

TEST(healthcheck, a_live_server_is_healthy) {
  crier_process server;
  auto const r = crier_process::run_to_exit({"healthcheck", url(server.port())});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("200"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "one line: " << r.out;
}

TEST(healthcheck, the_default_url_follows_crier_port_and_a_bare_path_keeps_it) {
  crier_process server;
  auto const port = "CRIER_PORT=" + std::to_string(server.port());
  auto const r = crier_process::run_to_exit({"healthcheck"}, 10s, {port});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(url(server.port())), std::string::npos) << r.out;
  auto const ready = crier_process::run_to_exit({"healthcheck", "/readyz"}, 10s, {port});
  EXPECT_EQ(ready.status, 0) << ready.err;
  EXPECT_NE(ready.out.find(url(server.port(), "/readyz")), std::string::npos) << ready.out;
}

TEST(healthcheck, a_closed_port_is_unhealthy) {
  std::uint16_t port = 0;
  {
    // A port that was free a moment ago and has no listener now.
    asio::io_context ioc;
    asio::ip::tcp::acceptor probe(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    port = probe.local_endpoint().port();
  }
  auto const r = crier_process::run_to_exit({"healthcheck", url(port)});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("unhealthy"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("connect"), std::string::npos) << r.err;
}

TEST(healthcheck, a_status_other_than_200_is_unhealthy) {
  crier_process server;
  auto const r = crier_process::run_to_exit({"healthcheck", url(server.port(), "/no-such-page")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("404"), std::string::npos) << r.err;
}

TEST(healthcheck, a_server_that_never_answers_times_out) {
  // The kernel completes the connection into the backlog; nobody ever reads the request.
  asio::io_context ioc;
  asio::ip::tcp::acceptor silent(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  auto const start = std::chrono::steady_clock::now();
  auto const r = crier_process::run_to_exit({"healthcheck", url(silent.local_endpoint().port())});
  auto const took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no answer within 3s"), std::string::npos) << r.err;
  EXPECT_LT(took, 8s);
}

TEST(healthcheck, bad_urls_are_unhealthy_not_a_crash) {
  for (auto const* bad : {"ftp://127.0.0.1/healthz", "127.0.0.1:8080", "http://127.0.0.1:99999/", "http://[::1/"}) {
    auto const r = crier_process::run_to_exit({"healthcheck", bad});
    EXPECT_EQ(r.status, 1) << bad;
    EXPECT_NE(r.err.find("bad URL"), std::string::npos) << bad << ": " << r.err;
  }
  auto const extra = crier_process::run_to_exit({"healthcheck", "http://127.0.0.1/", "more"});
  EXPECT_EQ(extra.status, 1);
}


TEST(healthcheck, a_tls_server_is_probed_over_https_and_the_default_follows_crier_tls_cert) {
  test_certificate tc("healthcheck-tls");
  crier_process server({"--tls-cert", tc.cert.string(), "--tls-key", tc.key.string()});
  auto const https = "https://127.0.0.1:" + std::to_string(server.port()) + "/healthz";
  auto const r = crier_process::run_to_exit({"healthcheck", https});
  EXPECT_EQ(r.status, 0) << r.err;
  // What the image's HEALTHCHECK runs when the container is configured for TLS.
  auto const by_env = crier_process::run_to_exit(
      {"healthcheck"}, 10s, {"CRIER_PORT=" + std::to_string(server.port()), "CRIER_TLS_CERT=" + tc.cert.string()});
  EXPECT_EQ(by_env.status, 0) << by_env.err;
  EXPECT_NE(by_env.out.find(https), std::string::npos) << by_env.out;
  // Plain http to a TLS port gets no HTTP answer.
  auto const plain = crier_process::run_to_exit({"healthcheck", url(server.port())});
  EXPECT_EQ(plain.status, 1);
  EXPECT_NE(plain.err.find("unhealthy"), std::string::npos) << plain.err;
}

TEST(healthcheck, https_to_a_plain_server_fails_the_handshake) {
  crier_process server;
  auto const r =
      crier_process::run_to_exit({"healthcheck", "https://127.0.0.1:" + std::to_string(server.port()) + "/"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("TLS handshake"), std::string::npos) << r.err;
}

} // namespace
} // namespace crier::test
