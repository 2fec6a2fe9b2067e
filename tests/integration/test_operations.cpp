// Operations on the real binary: probes, readiness while draining, Prometheus metrics with exact
// deltas (and promtool's approval), and JSON log lines.
#include "tests/support/crier_process.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

namespace crier::test {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

// name{labels} -> value, for the samples of one scrape.
std::map<std::string, double> scrape(std::uint16_t port) {
  auto const r = http_get(port, "/metrics");
  EXPECT_EQ(r.response.result(), http::status::ok);
  EXPECT_EQ(r.response[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  return parse_metrics(r.response.body());
}

TEST(operations, probes_answer) {
  crier_process server;
  EXPECT_EQ(http_get(server.port(), "/healthz").response.body(), "ok\n");
  EXPECT_EQ(http_get(server.port(), "/readyz").response.body(), "ready\n");
  auto const m = scrape(server.port());
  EXPECT_EQ(m.at("crier_build_info{version=\"" CRIER_VERSION "\"}"), 1);
  EXPECT_EQ(m.at("crier_ready"), 1);
  EXPECT_GT(m.at("process_resident_memory_bytes"), 1e6);
  EXPECT_GT(m.at("process_open_fds"), 3);
  EXPECT_GT(m.at("process_start_time_seconds"), 1.7e9);
  EXPECT_GE(m.at("process_cpu_seconds_total"), 0);
}

TEST(operations, readyz_is_503_while_draining) {
  crier_process server({"--shutdown-timeout", "5s"});
  // A keep-alive HTTP connection made before the drain, and a client that never answers the
  // close frame, so the drain lasts until the timeout.
  asio::io_context ioc;
  asio::ip::tcp::socket probe(ioc);
  probe.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  ws_client silent(server.port(), "/ws");
  server.signal(SIGTERM);
  ASSERT_TRUE(server.wait_for_line(std::regex("draining"), 5s));
  http::request<http::empty_body> req{http::verb::get, "/readyz", 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(probe, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(probe, buffer, res);
  EXPECT_EQ(res.result(), http::status::service_unavailable);
  EXPECT_NE(res.body().find("draining"), std::string::npos);
  silent.close(); // lets the drain finish early
  EXPECT_EQ(server.wait_exit(10s), 0);
}

TEST(operations, counters_move_by_exact_deltas) {
  crier_process server;
  auto const before = scrape(server.port());
  {
    ws_client a(server.port(), "/ws/count"), b(server.port(), "/ws/count");
    a.send_text("12345");      // 5 bytes in, 2 deliveries
    b.send_binary("abc");      // 3 bytes in, 2 deliveries
    a.send_text("xy");         // 2 bytes in, 2 deliveries
    for (int i = 0; i < 3; ++i) {
      a.receive();
      b.receive();
    }
    ws_client refused;
    boost::beast::websocket::response_type response;
    refused.stream().set_option(boost::beast::websocket::stream_base::decorator(
      [](boost::beast::websocket::request_type& r) { r.set(http::field::origin, "http://elsewhere.example"); }));
    EXPECT_TRUE(refused.try_connect(server.port(), "/ws/count", response));
    a.close();
    b.close();
  }
  // Wait until both sessions are gone (a gauge, polled under a deadline).
  auto const deadline = std::chrono::steady_clock::now() + 5s;
  std::map<std::string, double> after;
  do {
    after = scrape(server.port());
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
  } while (after.at("crier_connections") != 0);
  auto delta = [&](std::string const& k) { return after.at(k) - before.at(k); };
  EXPECT_EQ(delta("crier_messages_in_total"), 3);
  EXPECT_EQ(delta("crier_bytes_in_total"), 10);
  EXPECT_EQ(delta("crier_fanout_deliveries_total"), 6);
  EXPECT_EQ(delta("crier_fanout_bytes_total"), 20);
  EXPECT_EQ(delta("crier_messages_out_total"), 6);
  // Each member got 3 messages, in 1 to 3 writes as they happened to queue.
  EXPECT_GE(delta("crier_write_batches_total"), 2);
  EXPECT_LE(delta("crier_write_batches_total"), 6);
  EXPECT_EQ(delta("crier_bytes_out_total"), 20);
  EXPECT_EQ(delta("crier_connections_total{outcome=\"accepted\"}"), 2);
  EXPECT_EQ(delta("crier_connections_total{outcome=\"rejected_origin\"}"), 1);
  EXPECT_EQ(delta("crier_closes_total{code=\"1000\"}"), 2);
  EXPECT_EQ(after.at("crier_queued_bytes"), 0);
}

TEST(operations, a_message_at_a_time_is_a_write_at_a_time) {
  // A member that waits for each of its messages to come back before it sends the next finds one
  // message queued each time: one batch per message.
  crier_process server;
  ws_client a(server.port(), "/ws/one-by-one");
  auto const before = scrape(server.port());
  constexpr int messages = 5;
  for (int i = 0; i < messages; ++i) {
    a.send_text("m" + std::to_string(i));
    EXPECT_EQ(a.receive().data, "m" + std::to_string(i));
  }
  // The counters move just after the write that the client has already read from.
  metric_reaching(server.port(), "crier_messages_out_total", before.at("crier_messages_out_total") + messages);
  auto const after = scrape(server.port());
  auto delta = [&](std::string const& k) { return after.at(k) - before.at(k); };
  EXPECT_EQ(delta("crier_messages_out_total"), messages);
  EXPECT_EQ(delta("crier_write_batches_total"), messages);
}

TEST(operations, what_comes_within_the_batch_window_goes_out_in_one_write) {
  // A round of writes sooner than --batch-window after the last one waits for the window to end:
  // the five messages sent meanwhile reach the member in one write, not before the window ends.
  // Not parked: the session's own timer wakes a connection to park it, and that wake-up writes
  // what is queued, window or not.
  using namespace std::chrono;
  crier_process server({"--batch-window", "1s", "--park-after", "0"});
  ws_client a(server.port(), "/ws/window");
  a.send_text("first");
  EXPECT_EQ(a.receive().data, "first"); // its round started the window
  auto const before = scrape(server.port());
  auto const sent = steady_clock::now();
  constexpr int messages = 5;
  for (int i = 0; i < messages; ++i) a.send_text("m" + std::to_string(i));
  for (int i = 0; i < messages; ++i) EXPECT_EQ(a.receive().data, "m" + std::to_string(i));
  // The window began before "first" came back; what is left of it once the client has it is
  // most of a second.
  EXPECT_GE(steady_clock::now() - sent, 500ms);
  metric_reaching(server.port(), "crier_messages_out_total", before.at("crier_messages_out_total") + messages);
  auto const after = scrape(server.port());
  EXPECT_EQ(after.at("crier_write_batches_total") - before.at("crier_write_batches_total"), 1);
}

TEST(operations, a_big_message_does_not_wait_for_the_batch_window) {
  // Batching saves a big message nothing: it goes out at once, window or not.
  using namespace std::chrono;
  crier_process server({"--batch-window", "1s"});
  ws_client a(server.port(), "/ws/window-big");
  a.send_text("first");
  EXPECT_EQ(a.receive().data, "first");
  std::string const big(4096, 'b');
  auto const sent = steady_clock::now();
  a.send_text(big);
  EXPECT_EQ(a.receive().data, big);
  EXPECT_LT(steady_clock::now() - sent, 500ms);
}

TEST(operations, a_burst_does_not_wait_for_the_batch_window_past_half_a_queue) {
  // 1,000 messages in one write against a queue bound of 100 and a window of a second: once
  // half the bound waits, the round starts, so the sender, which reads its echoes as they come,
  // is never a slow consumer; and the burst takes nowhere near a second per 50 messages.
  using namespace std::chrono;
  crier_process server({"--batch-window", "1s", "--max-queue-messages", "100"});
  ws_client a(server.port(), "/ws/window-burst");
  a.send_text("first");
  EXPECT_EQ(a.receive().data, "first");
  auto const sent = steady_clock::now();
  constexpr int messages = 1000;
  for (int i = 0; i < messages; ++i) a.send_text("b" + std::to_string(i));
  for (int i = 0; i < messages; ++i) ASSERT_EQ(a.receive().data, "b" + std::to_string(i)) << i << server.log();
  EXPECT_LT(steady_clock::now() - sent, 5s);
  EXPECT_EQ(scrape(server.port()).at("crier_slow_consumer_closes_total"), 0);
}

TEST(operations, promtool_accepts_the_metrics) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0)
    GTEST_FAIL() << "promtool is missing: scripts/install-deps installs Debian's prometheus package";
  // With webhooks on, so that their families (a histogram among them) are checked too; nothing
  // listens on port 1, so requests fail and are retried meanwhile.
  crier_process server({"--webhook-url", "http://127.0.0.1:1/", "--webhook-secret", "x", "--webhook-batch-delay", "0",
                        "--shutdown-timeout", "1s"});
  ws_client a(server.port(), "/ws/p");
  a.send_text("hello");
  a.receive();
  auto const body = http_get(server.port(), "/metrics").response.body();
  auto const file = std::filesystem::temp_directory_path() / ("crier-metrics-" + std::to_string(::getpid()) + ".txt");
  std::ofstream(file) << body;
  auto const cmd = "promtool check metrics < " + file.string() + " > " + file.string() + ".out 2>&1";
  int const status = std::system(cmd.c_str());
  std::ifstream out(file.string() + ".out");
  std::string report((std::istreambuf_iterator<char>(out)), {});
  EXPECT_EQ(status, 0) << report;
  EXPECT_TRUE(report.empty()) << report; // not even a lint warning
  std::filesystem::remove(file);
  std::filesystem::remove(file.string() + ".out");
}

TEST(operations, json_logs_parse_line_by_line_and_carry_fields) {
  crier_process server({"--log-format", "json"});
  {
    ws_client a(server.port(), "/ws/logs");
    a.send_text("secret message contents");
    a.receive();
    a.close();
  }
  ASSERT_TRUE(server.wait_for_line(std::regex("ws close"), 5s));
  server.signal(SIGTERM);
  server.wait_exit();
  bool saw_close = false;
  for (auto const& line : server.lines()) {
    boost::system::error_code ec;
    auto const v = json::parse(line, ec);
    ASSERT_FALSE(ec) << "not JSON: " << line;
    auto const& o = v.as_object();
    EXPECT_TRUE(o.contains("ts") && o.contains("level") && o.contains("msg")) << line;
    if (o.at("msg") == "ws close") {
      saw_close = true;
      EXPECT_TRUE(o.at("peer").is_string());
      EXPECT_EQ(o.at("room"), "logs");
      EXPECT_EQ(o.at("code"), 1000);
      EXPECT_TRUE(o.at("reason").is_string());
      EXPECT_TRUE(o.at("duration_ms").is_int64());
    }
  }
  EXPECT_TRUE(saw_close);
  // Message contents never reach the log at info.
  EXPECT_EQ(server.log().find("secret message contents"), std::string::npos);
}

} // namespace
} // namespace crier::test
