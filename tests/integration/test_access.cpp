// Who may connect, on the real binary: the Origin check, the token, and TLS.
#include "tests/support/crier_process.hpp"
#include "tests/support/test_certificate.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace crier::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

// Upgrades with the given extra request headers; returns the HTTP status of the answer.
http::status upgrade_status(std::uint16_t port, std::string const& target,
                            std::vector<std::pair<http::field, std::string>> const& headers) {
  return try_upgrade(port, target, headers).status;
}

TEST(access, origin_same_host_and_absent_are_allowed_by_default_others_get_403) {
  crier_process server;
  auto const port = server.port();
  auto const self = "http://127.0.0.1:" + std::to_string(port);
  EXPECT_EQ(upgrade_status(port, "/ws", {}), http::status::switching_protocols); // no Origin: CLI clients
  EXPECT_EQ(upgrade_status(port, "/ws", {{http::field::origin, self}}), http::status::switching_protocols);
  EXPECT_EQ(upgrade_status(port, "/ws", {{http::field::origin, "http://evil.example"}}), http::status::forbidden);
  EXPECT_EQ(upgrade_status(port, "/ws", {{http::field::origin, "http://127.0.0.1:1"}}), http::status::forbidden);
  EXPECT_EQ(upgrade_status(port, "/ws", {{http::field::origin, "null"}}), http::status::forbidden);
  EXPECT_TRUE(server.wait_for_line(std::regex("origin not allowed .*origin=http://evil.example"), 5s)) << server.log();
  auto const metrics = http_get(port, "/metrics").response.body();
  EXPECT_NE(metrics.find("crier_connections_total{outcome=\"rejected_origin\"} 3\n"), std::string::npos) << metrics;
}

TEST(access, an_allow_list_or_a_star) {
  crier_process listed({"--allowed-origins", "https://chat.example.com, http://localhost:3000"});
  auto const p = listed.port();
  EXPECT_EQ(upgrade_status(p, "/ws", {{http::field::origin, "https://chat.example.com"}}), http::status::switching_protocols);
  EXPECT_EQ(upgrade_status(p, "/ws", {{http::field::origin, "http://localhost:3000"}}), http::status::switching_protocols);
  EXPECT_EQ(upgrade_status(p, "/ws", {{http::field::origin, "https://other.example.com"}}), http::status::forbidden);
  // With a list, the server's own origin is allowed only if listed.
  EXPECT_EQ(upgrade_status(p, "/ws", {{http::field::origin, "http://127.0.0.1:" + std::to_string(p)}}),
            http::status::forbidden);
  crier_process any({"--allowed-origins", "*"});
  EXPECT_EQ(upgrade_status(any.port(), "/ws", {{http::field::origin, "http://anything.example"}}),
            http::status::switching_protocols);
}

TEST(access, token_missing_wrong_header_and_query) {
  crier_process server({"--auth-token", "s3cret-t0ken"});
  auto const p = server.port();
  EXPECT_EQ(upgrade_status(p, "/ws", {}), http::status::unauthorized);
  EXPECT_EQ(upgrade_status(p, "/ws?token=wrong", {}), http::status::unauthorized);
  EXPECT_EQ(upgrade_status(p, "/ws", {{http::field::authorization, "Bearer wrong"}}), http::status::unauthorized);
  EXPECT_EQ(upgrade_status(p, "/ws", {{http::field::authorization, "Bearer s3cret-t0ke"}}), http::status::unauthorized);
  EXPECT_EQ(upgrade_status(p, "/ws", {{http::field::authorization, "s3cret-t0ken"}}), http::status::unauthorized);
  EXPECT_EQ(upgrade_status(p, "/ws", {{http::field::authorization, "Bearer s3cret-t0ken"}}),
            http::status::switching_protocols);
  EXPECT_EQ(upgrade_status(p, "/ws?token=s3cret-t0ken", {}), http::status::switching_protocols);
  // /api/* needs it too; the page and the probes do not.
  EXPECT_EQ(http_get(p, "/api/rooms").response.result(), http::status::unauthorized);
  EXPECT_EQ(http_get(p, "/api/rooms?token=s3cret-t0ken").response.result(), http::status::ok);
  EXPECT_EQ(http_get(p, "/").response.result(), http::status::ok);
  EXPECT_EQ(http_get(p, "/healthz").response.result(), http::status::ok);
  EXPECT_EQ(http_get(p, "/metrics").response.result(), http::status::ok);
  auto const metrics = http_get(p, "/metrics").response.body();
  EXPECT_NE(metrics.find("crier_connections_total{outcome=\"rejected_auth\"} 5\n"), std::string::npos) << metrics;
  // The secret never reaches the log, whatever the log level.
  EXPECT_EQ(server.log().find("s3cret"), std::string::npos) << server.log();
}

TEST(access, the_token_is_not_logged_even_at_debug) {
  crier_process server({"--auth-token", "hush-hush", "--log-level", "debug"});
  upgrade_status(server.port(), "/ws?token=hush-hush", {});
  upgrade_status(server.port(), "/ws?token=hush-hush-wrong", {});
  http_get(server.port(), "/nope?token=hush-hush");
  server.signal(SIGTERM);
  server.wait_exit();
  EXPECT_EQ(server.log().find("hush"), std::string::npos) << server.log();
  EXPECT_NE(server.log().find("token=***"), std::string::npos) << server.log();
}


TEST(access, tls_serves_https_and_wss_on_one_port) {
  test_certificate tc;
  crier_process server({"--tls-cert", tc.cert.string(), "--tls-key", tc.key.string()});
  EXPECT_TRUE(server.wait_for_line(std::regex("listening on https://127\\.0\\.0\\.1:"), 1s));
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(tc.cert.string());
  ctx.set_verify_mode(asio::ssl::verify_peer);
  asio::io_context ioc;
  auto const ep = asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"), server.port()};

  // https
  {
    beast::ssl_stream<beast::tcp_stream> s(ioc, ctx);
    beast::get_lowest_layer(s).expires_after(5s);
    beast::get_lowest_layer(s).connect(ep);
    s.handshake(asio::ssl::stream_base::client);
    http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(s, req);
    beast::flat_buffer b;
    http::response<http::string_body> res;
    http::read(s, b, res);
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(res.body(), "ok\n");
  }
  // wss: two clients, one broadcast
  auto open = [&](websocket::stream<beast::ssl_stream<beast::tcp_stream>>& ws) {
    beast::get_lowest_layer(ws).expires_after(5s);
    beast::get_lowest_layer(ws).connect(ep);
    ws.next_layer().handshake(asio::ssl::stream_base::client);
    ws.handshake("127.0.0.1", "/ws/secure");
  };
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> a(ioc, ctx), b(ioc, ctx);
  open(a);
  open(b);
  a.write(asio::buffer(std::string("over tls")));
  beast::flat_buffer buf;
  b.read(buf);
  EXPECT_EQ(beast::buffers_to_string(buf.data()), "over tls");
  // Plain HTTP to the TLS port gets nowhere, and the server stays up.
  auto const plain = http_get(server.port(), "/healthz", 2s);
  EXPECT_TRUE(plain.ec);
  beast::get_lowest_layer(a).expires_after(5s);
  a.close(websocket::close_code::normal);
}

TEST(access, missing_or_unreadable_tls_files_fail_start_up_clearly) {
  auto const r = crier_process::run_to_exit({"--port", "0", "--tls-cert", "/nonexistent/cert.pem", "--tls-key",
                                             "/nonexistent/key.pem"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--tls-cert: cannot read '/nonexistent/cert.pem'"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("listening"), std::string::npos);
  test_certificate tc;
  auto const bad_key = tc.dir / "garbage.pem";
  std::ofstream(bad_key) << "not a key\n";
  auto const r2 = crier_process::run_to_exit({"--port", "0", "--tls-cert", tc.cert.string(), "--tls-key", bad_key.string()});
  EXPECT_NE(r2.status, 0);
  EXPECT_NE(r2.err.find("--tls-key: cannot load"), std::string::npos) << r2.err;
  auto const r3 = crier_process::run_to_exit({"--tls-cert", tc.cert.string()});
  EXPECT_EQ(r3.status, 2);
  EXPECT_NE(r3.err.find("--tls-cert: needs --tls-key"), std::string::npos) << r3.err;
}

} // namespace
} // namespace crier::test
