// crier-api-bench: what identity and the server API cost, against a running crier.
//
//   crier-api-bench upgrades PORT [--token T] [--count N] [--server-pid PID]
//       N WebSocket upgrades one after another (each closed at once), with `Authorization: Bearer
//       T` when given: upgrades per second and, with --server-pid, the server's CPU per upgrade.
//   crier-api-bench publish PORT --api-key K [--token T] [--connections C] [--seconds S] [--room R] [--server-pid PID]
//       C keep-alive connections POSTing {"text":...} back to back for S seconds, while one raw
//       WebSocket member of the room (with the token T, when the server checks tokens) counts what arrives: requests per second, latency p50/p99/max,
//       and whether every published message arrived once.
//
// It prints one JSON object. bench/api-run runs both against crier with and without tokens.

#include "bench/bench_support.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

struct args {
  std::string mode;
  std::uint16_t port = 0;
  std::string token, api_key, room = "bench";
  int count = 2000, connections = 4;
  double seconds = 5;
  int server_pid = 0;
};

[[noreturn]] void usage(std::string const& why) {
  std::cerr << "crier-api-bench: " << why
            << "\nusage: crier-api-bench upgrades PORT [--token T] [--count N] [--server-pid PID]\n"
               "       crier-api-bench publish PORT --api-key K [--token T] [--connections C] [--seconds S] [--room R] [--server-pid PID]\n";
  std::exit(2);
}

args parse(int argc, char** argv) {
  if (argc < 3) usage("a mode and a port are required");
  args a;
  a.mode = argv[1];
  a.port = static_cast<std::uint16_t>(std::atoi(argv[2]));
  for (int i = 3; i < argc; ++i) {
    std::string const flag = argv[i];
    if (i + 1 >= argc) usage(flag + " needs a value");
    std::string const v = argv[++i];
    if (flag == "--token") a.token = v;
    else if (flag == "--api-key") a.api_key = v;
    else if (flag == "--room") a.room = v;
    else if (flag == "--count") a.count = std::max(1, std::atoi(v.c_str()));
    else if (flag == "--connections") a.connections = std::max(1, std::atoi(v.c_str()));
    else if (flag == "--seconds") a.seconds = std::max(0.1, std::atof(v.c_str()));
    else if (flag == "--server-pid") a.server_pid = std::atoi(v.c_str());
    else usage("unknown flag " + flag);
  }
  if (a.port == 0) usage("bad port");
  if (a.mode != "upgrades" && a.mode != "publish") usage("unknown mode " + a.mode);
  if (a.mode == "publish" && a.api_key.empty()) usage("publish needs --api-key");
  return a;
}

tcp::endpoint endpoint(std::uint16_t port) { return {asio::ip::make_address("127.0.0.1"), port}; }

double server_cpu(int pid) {
  if (pid <= 0) return 0;
  auto const ticks = crier::bench::process_cpu_ticks(pid).value_or(0);
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int upgrades(args const& a) {
  asio::io_context ioc;
  auto const cpu0 = server_cpu(a.server_pid);
  auto const t0 = steady::now();
  int failed = 0;
  for (int i = 0; i < a.count; ++i) {
    websocket::stream<beast::tcp_stream> ws(ioc);
    beast::get_lowest_layer(ws).expires_after(std::chrono::seconds(5));
    beast::error_code ec;
    beast::get_lowest_layer(ws).connect(endpoint(a.port), ec);
    if (!ec) {
      if (!a.token.empty())
        ws.set_option(websocket::stream_base::decorator(
          [&](websocket::request_type& req) { req.set(http::field::authorization, "Bearer " + a.token); }));
      ws.handshake("127.0.0.1", "/ws/" + a.room, ec);
    }
    if (!ec) ws.close(websocket::close_code::normal, ec);
    if (ec) ++failed;
  }
  double const wall = std::chrono::duration<double>(steady::now() - t0).count();
  double const cpu = server_cpu(a.server_pid) - cpu0;
  std::printf("{\"mode\":\"upgrades\",\"token\":%s,\"count\":%d,\"failed\":%d,\"seconds\":%.3f,\"per_second\":%.1f,"
              "\"server_cpu_us_per_upgrade\":%.2f}\n",
              a.token.empty() ? "false" : "true", a.count, failed, wall, a.count / wall,
              a.server_pid > 0 ? cpu * 1e6 / a.count : 0.0);
  return failed == 0 ? 0 : 1;
}

int publish(args const& a) {
  // The member that checks every published message arrives, once.
  asio::io_context sub_ioc;
  websocket::stream<beast::tcp_stream> member(sub_ioc);
  beast::get_lowest_layer(member).connect(endpoint(a.port));
  if (!a.token.empty())
    member.set_option(websocket::stream_base::decorator(
      [&](websocket::request_type& req) { req.set(http::field::authorization, "Bearer " + a.token); }));
  member.handshake("127.0.0.1", "/ws/" + a.room);
  std::atomic<long> received{0};
  std::thread reader([&] {
    beast::flat_buffer buf;
    while (true) {
      beast::get_lowest_layer(member).expires_after(std::chrono::seconds(3));
      beast::error_code ec;
      member.read(buf, ec);
      if (ec) break;
      buf.consume(buf.size());
      ++received;
    }
  });

  std::mutex m;
  std::vector<double> latencies_us;
  std::atomic<long> ok{0}, failed{0};
  auto const cpu0 = server_cpu(a.server_pid);
  auto const t0 = steady::now();
  auto const until = t0 + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(a.seconds));
  std::vector<std::thread> workers;
  for (int c = 0; c < a.connections; ++c) {
    workers.emplace_back([&, c] {
      asio::io_context ioc;
      beast::tcp_stream s(ioc);
      s.connect(endpoint(a.port));
      beast::flat_buffer buf;
      std::vector<double> mine;
      for (long n = 0; steady::now() < until; ++n) {
        http::request<http::string_body> req{http::verb::post, "/api/rooms/" + a.room + "/messages", 11};
        req.set(http::field::host, "127.0.0.1");
        req.set(http::field::authorization, "Bearer " + a.api_key);
        req.set(http::field::content_type, "application/json");
        req.body() = R"({"text":"api bench )" + std::to_string(c) + " " + std::to_string(n) + "\"}";
        req.prepare_payload();
        auto const start = steady::now();
        beast::error_code ec;
        s.expires_after(std::chrono::seconds(5));
        http::write(s, req, ec);
        http::response<http::string_body> res;
        if (!ec) http::read(s, buf, res, ec);
        mine.push_back(std::chrono::duration<double, std::micro>(steady::now() - start).count());
        if (ec || res.result() != http::status::ok) {
          ++failed;
          if (ec) break;
        } else {
          ++ok;
        }
      }
      std::lock_guard lock(m);
      latencies_us.insert(latencies_us.end(), mine.begin(), mine.end());
    });
  }
  for (auto& w : workers) w.join();
  double const wall = std::chrono::duration<double>(steady::now() - t0).count();
  double const cpu = server_cpu(a.server_pid) - cpu0;
  // Every answered publish must reach the member; wait (bounded) for the last ones.
  auto const deadline = steady::now() + std::chrono::seconds(3);
  while (received.load() < ok.load() && steady::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  beast::error_code ignored;
  beast::get_lowest_layer(member).socket().shutdown(tcp::socket::shutdown_both, ignored);
  reader.join();
  std::sort(latencies_us.begin(), latencies_us.end());
  auto const pct = [&](double p) {
    return latencies_us.empty() ? 0.0 : latencies_us[std::min(latencies_us.size() - 1, static_cast<std::size_t>(p * static_cast<double>(latencies_us.size())))];
  };
  std::printf("{\"mode\":\"publish\",\"connections\":%d,\"seconds\":%.3f,\"ok\":%ld,\"failed\":%ld,\"per_second\":%.1f,"
              "\"p50_us\":%.0f,\"p99_us\":%.0f,\"max_us\":%.0f,\"delivered\":%ld,\"server_cpu_us_per_publish\":%.2f}\n",
              a.connections, wall, ok.load(), failed.load(), static_cast<double>(ok.load()) / wall, pct(0.50), pct(0.99),
              latencies_us.empty() ? 0.0 : latencies_us.back(), received.load(),
              a.server_pid > 0 && ok.load() > 0 ? cpu * 1e6 / static_cast<double>(ok.load()) : 0.0);
  return failed.load() == 0 && received.load() == ok.load() ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  auto const a = parse(argc, argv);
  try {
    return a.mode == "upgrades" ? upgrades(a) : publish(a);
  } catch (std::exception const& e) {
    std::cerr << "crier-api-bench: " << e.what() << "\n";
    return 1;
  }
}
