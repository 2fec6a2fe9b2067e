#include "server/http/healthcheck.hpp"

#include "common/http_url.hpp"
#include "server/net.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string_view>
#include <variant>

namespace crier {

using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view usage =
    "usage: crier healthcheck [URL]\n"
    "  GETs URL (default http://127.0.0.1:${CRIER_PORT:-8080}/healthz, https when CRIER_TLS_CERT\n"
    "  is set; a bare path such as /readyz means that host and port) and exits 0 on 200, 1\n"
    "  otherwise. https does not verify the certificate: it checks that crier answers.\n";

struct probe_result {
  std::optional<http::response<http::string_body>> response;
  std::string error; // what failed, when there is no response
};

// Sends the GET on a connected (and, for https, handshaken) stream and reads the answer.
template <class Stream>
asio::awaitable<void> exchange(Stream& stream, http_url const& url, probe_result& result) {
  http::request<http::empty_body> req{http::verb::get, url.target, 11};
  req.set(http::field::host, url.host_header);
  req.set(http::field::user_agent, "crier-healthcheck/" CRIER_VERSION);
  req.set(http::field::connection, "close");
  auto [wec, written] = co_await http::async_write(stream, req, nothrow);
  if (wec) {
    result.error = "send: " + wec.message();
    co_return;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::uint64_t{64} * 1024);
  auto [rec, read] = co_await http::async_read(stream, buffer, parser, nothrow);
  if (rec) {
    result.error = "reading the response: " + rec.message();
    co_return;
  }
  result.response = parser.release();
}

// GET with one deadline over resolve, connect, TLS handshake, write and read. The timer closes
// whatever is pending, so every step completes by then.
probe_result probe(http_url const& url) {
  asio::io_context ioc;
  // A probe checks that crier answers, not who it is: its certificate is usually for a public
  // name, not for the loopback address the probe uses, so it is not verified.
  asio::ssl::context tls(asio::ssl::context::tls_client);
  tls.set_verify_mode(asio::ssl::verify_none);
  tcp::resolver resolver(ioc);
  beast::ssl_stream<beast::tcp_stream> stream(ioc, tls);
  auto& tcp_stream = beast::get_lowest_layer(stream);
  asio::steady_timer deadline(ioc, healthcheck_timeout);
  bool timed_out = false;
  deadline.async_wait([&](boost::system::error_code ec) {
    if (ec) return;
    timed_out = true;
    resolver.cancel();
    tcp_stream.close();
  });

  probe_result result;
  auto get = [&]() -> asio::awaitable<void> {
    auto [rec, endpoints] = co_await resolver.async_resolve(url.host, url.port, nothrow);
    if (rec) {
      result.error = "cannot resolve '" + url.host + "': " + rec.message();
      co_return;
    }
    auto [cec, ep] = co_await asio::async_connect(tcp_stream.socket(), endpoints, nothrow);
    if (cec) {
      result.error = "connect: " + cec.message();
      co_return;
    }
    if (!url.tls) {
      co_await exchange(tcp_stream, url, result);
      co_return;
    }
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, nothrow);
    if (hec) {
      result.error = "TLS handshake: " + hec.message();
      co_return;
    }
    co_await exchange(stream, url, result);
  };
  asio::co_spawn(ioc, get(), [&](std::exception_ptr const& e) {
    deadline.cancel();
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (std::exception const& ex) {
      result.error = ex.what();
    }
  });
  ioc.run();
  if (timed_out && !result.response)
    result.error = "no answer within " + std::to_string(healthcheck_timeout.count()) + "s";
  return result;
}

std::string first_line(std::string_view text) {
  auto const end = text.find_first_of("\r\n");
  return std::string(text.substr(0, std::min<std::size_t>(end, 200)));
}

} // namespace

std::string default_healthcheck_url() {
  std::string host = "127.0.0.1";
  if (char const* address = std::getenv("CRIER_ADDRESS"); // NOLINT(concurrency-mt-unsafe): one thread
      address != nullptr && *address != '\0') {
    boost::system::error_code ec;
    auto const a = asio::ip::make_address(address, ec);
    // A server listening on every address answers on loopback; one bound to a single address
    // answers only there.
    if (!ec && !a.is_unspecified()) host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  }
  char const* port = std::getenv("CRIER_PORT");    // NOLINT(concurrency-mt-unsafe): one thread
  char const* tls = std::getenv("CRIER_TLS_CERT"); // NOLINT(concurrency-mt-unsafe): one thread
  return std::string(tls != nullptr && *tls != '\0' ? "https" : "http") + "://" + host + ":" +
         (port != nullptr && *port != '\0' ? port : "8080") + "/healthz";
}

int run_healthcheck(std::vector<std::string> const& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::fputs(usage.data(), stdout);
    return 0;
  }
  if (args.size() > 1) {
    std::fprintf(stderr, "unhealthy: crier healthcheck takes at most one URL\n%s", usage.data());
    return 1;
  }
  std::string url = default_healthcheck_url();
  if (!args.empty()) {
    if (!args[0].empty() && args[0].front() == '/')
      url = url.substr(0, url.rfind("/healthz")) + args[0];
    else
      url = args[0];
  }

  auto const parsed = parse_http_url(url);
  if (auto const* why = std::get_if<std::string>(&parsed)) {
    std::fprintf(stderr, "unhealthy: bad URL '%s': %s\n", url.c_str(), why->c_str());
    return 1;
  }
  auto const result = probe(std::get<http_url>(parsed));
  if (!result.response) {
    std::fprintf(stderr, "unhealthy: GET %s: %s\n", url.c_str(), result.error.c_str());
    return 1;
  }
  auto const& res = *result.response;
  auto const status = res.result_int();
  std::string const reason(res.reason());
  if (status == 200) {
    std::printf("healthy: GET %s: %u %s\n", url.c_str(), status, reason.c_str());
    return 0;
  }
  auto const body = first_line(res.body());
  std::fprintf(stderr, "unhealthy: GET %s: %u %s%s%s\n", url.c_str(), status, reason.c_str(), body.empty() ? "" : ": ",
               body.c_str());
  return 1;
}

} // namespace crier
