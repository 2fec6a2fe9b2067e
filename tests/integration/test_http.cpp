// The HTTP side over real sockets: the page, content types, keep-alive, errors, and traversal.
#include "tests/support/crier_process.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace crier::test {
namespace {

namespace http = boost::beast::http;

TEST(http, serves_the_page) {
  crier_process server;
  auto const r = http_get(server.port(), "/");
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.response.result(), http::status::ok);
  EXPECT_EQ(r.response[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(r.response[http::field::server], "crier/" CRIER_VERSION);
  EXPECT_NE(r.response.body().find("<title>crier</title>"), std::string::npos);

  auto const js = http_get(server.port(), "/app.js");
  EXPECT_EQ(js.response.result(), http::status::ok);
  EXPECT_EQ(js.response[http::field::content_type], "text/javascript; charset=utf-8");
  auto const css = http_get(server.port(), "/style.css");
  EXPECT_EQ(css.response.result(), http::status::ok);
  EXPECT_EQ(css.response[http::field::content_type], "text/css; charset=utf-8");
}

TEST(http, head_gives_headers_without_a_body) {
  crier_process server;
  auto const get = http_get(server.port(), "/index.html");
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ip::tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  http::request<http::empty_body> req{http::verb::head, "/index.html", 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(socket, req);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::empty_body> parser;
  parser.skip(true); // a response to HEAD has no body, whatever its Content-Length says
  http::read_header(socket, buffer, parser);
  EXPECT_EQ(parser.get().result(), http::status::ok);
  EXPECT_EQ(parser.get()[http::field::content_length], std::to_string(get.response.body().size()));
  // The connection stays usable: the next response starts right after the header.
  http::write(socket, http::request<http::empty_body>{http::verb::get, "/missing", 11});
  http::response<http::string_body> next;
  http::read(socket, buffer, next);
  EXPECT_EQ(next.result(), http::status::not_found);
}

TEST(http, missing_files_get_404_and_other_methods_405) {
  crier_process server;
  EXPECT_EQ(http_get(server.port(), "/no-such-file.html").response.result(), http::status::not_found);
  auto const post = http_raw(server.port(), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(post.response.result(), http::status::method_not_allowed);
  EXPECT_EQ(post.response[http::field::allow], "GET, HEAD");
  auto const del = http_raw(server.port(), "DELETE /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(del.response.result(), http::status::method_not_allowed);
}

TEST(http, malformed_requests_get_400) {
  crier_process server;
  EXPECT_EQ(http_raw(server.port(), "GARBAGE\r\n\r\n").response.result(), http::status::bad_request);
  EXPECT_EQ(http_raw(server.port(), "GET / HTTP/9.9\r\n\r\n").response.result(), http::status::bad_request);
  EXPECT_EQ(http_raw(server.port(), "GET index.html HTTP/1.1\r\nHost: x\r\n\r\n").response.result(),
            http::status::bad_request);
  EXPECT_EQ(http_raw(server.port(), "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n").response.result(), http::status::bad_request);
  // The server is still fine afterwards.
  EXPECT_EQ(http_get(server.port(), "/").response.result(), http::status::ok);
}

TEST(http, request_bodies_and_huge_headers_are_refused) {
  crier_process server;
  auto const body = http_raw(server.port(), "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(body.response.result(), http::status::payload_too_large);
  auto const flood =
    http_raw(server.port(), "GET / HTTP/1.1\r\nHost: x\r\nX-Flood: " + std::string(16 * 1024, 'a') + "\r\n\r\n");
  EXPECT_EQ(flood.response.result(), http::status::request_header_fields_too_large);
}

TEST(http, keep_alive_serves_several_requests_on_one_connection) {
  crier_process server;
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ip::tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  boost::beast::flat_buffer buffer;
  for (auto const* target : {"/", "/app.js", "/missing", "/style.css"}) {
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(socket, req);
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    EXPECT_TRUE(res.keep_alive()) << target;
    EXPECT_EQ(res.result(), std::string_view(target) == "/missing" ? http::status::not_found : http::status::ok);
  }
}

TEST(http, traversal_attempts_get_4xx) {
  namespace fs = std::filesystem;
  // A static dir with a symlink leading out of it, and a secret beside it.
  auto const base = fs::temp_directory_path() / ("crier-traversal-" + std::to_string(::getpid()));
  fs::remove_all(base);
  fs::create_directories(base / "www");
  std::ofstream(base / "www" / "index.html") << "<p>ok</p>";
  std::ofstream(base / "secret.txt") << "TOP SECRET";
  fs::create_symlink(base / "secret.txt", base / "www" / "link.txt");

  {
    crier_process server({"--static-dir", (base / "www").string()});
    for (auto const* target : {"/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/..%2fsecret.txt",
                               "/.%2e/secret.txt", "/%2fetc/passwd", "/link.txt", "/..\\secret.txt",
                               "/../../../../etc/passwd", "//etc/passwd", "/%2e%2e%2f%2e%2e%2fetc/passwd"}) {
      auto const r = http_raw(server.port(), std::string("GET ") + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      ASSERT_FALSE(r.ec) << target << ": " << r.ec.message();
      auto const status = r.response.result_int();
      EXPECT_GE(status, 400U) << target;
      EXPECT_LT(status, 500U) << target;
      EXPECT_EQ(r.response.body().find("TOP SECRET"), std::string::npos) << target;
      EXPECT_EQ(r.response.body().find("root:"), std::string::npos) << target;
    }
    EXPECT_EQ(http_get(server.port(), "/").response.body(), "<p>ok</p>");
  }
  fs::remove_all(base);
}

TEST(http, websocket_paths_validate_the_room_name) {
  crier_process server;
  ws_client client;
  boost::beast::websocket::response_type response;
  auto ec = client.try_connect(server.port(), "/ws/bad%20room", response);
  EXPECT_TRUE(ec);
  EXPECT_EQ(response.result(), http::status::bad_request);
  ws_client too_long;
  ec = too_long.try_connect(server.port(), "/ws/" + std::string(65, 'r'), response);
  EXPECT_TRUE(ec);
  EXPECT_EQ(response.result(), http::status::bad_request);
  ws_client ok;
  ec = ok.try_connect(server.port(), "/ws/" + std::string(64, 'r'), response);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(response[http::field::server], "crier/" CRIER_VERSION);
  // A plain GET of a WebSocket path says how to use it.
  EXPECT_EQ(http_get(server.port(), "/ws/lobby").response.result(), http::status::upgrade_required);
}

} // namespace
} // namespace crier::test

namespace crier::test {
namespace {

TEST(http, health_and_readiness_probes) {
  crier_process server;
  auto const health = http_get(server.port(), "/healthz");
  EXPECT_EQ(health.response.result(), boost::beast::http::status::ok);
  EXPECT_EQ(health.response.body(), "ok\n");
  auto const ready = http_get(server.port(), "/readyz");
  EXPECT_EQ(ready.response.result(), boost::beast::http::status::ok);
  EXPECT_EQ(ready.response.body(), "ready\n");
}

} // namespace
} // namespace crier::test
