// Prints one run's report, as the JSON bench/run and bench/report.js read or as text.

#include "bench/report.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <string_view>
#include <vector>

namespace crier::bench {
namespace {

std::string opt_num(std::optional<double> v, int decimals = 3) {
  return v ? fmt::format("{:.{}f}", *v, decimals) : "null";
}
std::string opt_num(std::optional<std::uint64_t> v) { return v ? std::to_string(*v) : "null"; }

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1e3; }

std::string human_ns(std::uint64_t ns) {
  if (ns < 10'000) return fmt::format("{:.1f} us", static_cast<double>(ns) / 1e3);
  if (ns < 10'000'000) return fmt::format("{:.0f} us", static_cast<double>(ns) / 1e3);
  return fmt::format("{:.1f} ms", static_cast<double>(ns) / 1e6);
}

std::string human_kib(std::uint64_t kib) { return fmt::format("{:.1f} MiB", static_cast<double>(kib) / 1024.0); }

} // namespace

void print_json(report const& r) {
  auto const& o = *r.opt;
  auto const& lat = r.st.latency;
  std::string s = "{";
  s += fmt::format("\"scenario\":{},", json_string(o.scenario));
  std::string ports;
  for (auto p : o.ports.empty() ? std::vector<std::uint16_t>{o.port} : o.ports) ports += (ports.empty() ? "" : ",") + std::to_string(p);
  s += fmt::format("\"host\":{},\"port\":{},\"ports\":[{}],\"path\":{},", json_string(o.host), o.port, ports,
                   json_string(o.path));
  s += fmt::format("\"clients\":{},\"senders\":{},\"rooms\":{},\"size\":{},\"rate\":{},\"in_flight\":{},", o.clients,
                   o.senders, o.rooms, o.size, o.rate, o.in_flight);
  s += fmt::format("\"duration_s\":{},\"warmup_s\":{},\"drain_timeout_s\":{},\"binary\":{},\"threads\":{},", o.duration,
                   o.warmup, o.drain_timeout, o.binary, o.threads);
  s += fmt::format("\"receivers\":{},\"other_events\":{},", json_string(o.receivers), r.st.other_events);
  s += fmt::format("\"payload\":{},\"deflate\":{{\"offered\":{},\"negotiated\":{}}},", json_string(o.payload),
                   o.deflate, r.st.deflate_negotiated);
  s += fmt::format("\"connect\":{{\"connected\":{},\"failed\":{},\"total_s\":{:.3f},\"p50_ms\":{:.3f},\"p99_ms\":{:.3f},"
                   "\"max_ms\":{:.3f}}},",
                   r.connected, r.connect_failed, r.connect_s, us(r.st.connect.quantile(0.5)) / 1e3,
                   us(r.st.connect.quantile(0.99)) / 1e3, us(r.st.connect.max()) / 1e3);
  s +=
      fmt::format("\"window_s\":{:.3f},\"sent\":{},\"sent_per_s\":{:.1f},\"deliveries\":{},\"deliveries_per_s\":{:.1f},"
                  "\"payload_bytes_per_s\":{:.1f},\"payload_bytes_per_delivery\":{},",
                  r.window_s, r.st.sent_window, r.sent_per_s(), r.st.deliveries_window, r.deliveries_per_s(),
                  r.bytes_per_s(), opt_num(r.per_delivery(r.st.payload_bytes_window), 1));
  s += fmt::format("\"latency_us\":{{\"count\":{},\"p50\":{:.1f},\"p90\":{:.1f},\"p99\":{:.1f},\"max\":{:.1f}}},",
                   lat.count(), us(lat.quantile(0.5)), us(lat.quantile(0.9)), us(lat.quantile(0.99)), us(lat.max()));
  s += fmt::format("\"sent_total\":{},\"expected_deliveries\":{},\"unique_deliveries\":{},\"received_total\":{},",
                   r.st.sent_total, r.expected, r.unique, r.st.received_total);
  s += fmt::format("\"loss\":{},\"gaps\":{},\"missing_at_gaps\":{},\"duplicates\":{},\"reorders\":{},\"corrupt\":{},"
                   "\"foreign\":{},\"errors\":{},\"skipped_ticks\":{},\"drained\":{},\"first_error\":{},",
                   r.loss, r.st.gaps, r.st.missing, r.st.duplicates, r.st.reorders, r.st.corrupt, r.st.foreign,
                   r.st.errors, r.st.skipped_ticks, r.drained, json_string(r.st.first_error));
  std::optional<double> cpu_per;
  if (r.server_cpu_s) cpu_per = r.per_delivery_us(*r.server_cpu_s);
  s += fmt::format("\"server\":{{\"pid\":{},\"cpu_s\":{},\"run_s\":{},\"wait_for_cpu_s\":{},\"cpu_us_per_delivery\":{},"
                   "\"tcp_bytes_sent\":{},\"tcp_segments_sent\":{},\"wire_bytes_per_delivery\":{},\"rss_kib_start\":{},"
                   "\"rss_kib_connected\":{},\"rss_kib_idle\":{},\"rss_kib_after_traffic\":{},\"rss_kib_end\":{},"
                   "\"rss_bytes_per_conn_idle\":{},\"rss_bytes_per_conn_after_traffic\":{}}},",
                   r.server_pid, opt_num(r.server_cpu_s), opt_num(r.server_run_s), opt_num(r.server_wait_s),
                   opt_num(cpu_per, 4), opt_num(r.server_tcp_bytes), opt_num(r.server_tcp_segments),
                   opt_num(r.per_delivery(r.server_tcp_bytes), 1), opt_num(r.rss_start), opt_num(r.rss_connected),
                   opt_num(r.rss_idle), opt_num(r.rss_touched), opt_num(r.rss_end),
                   opt_num(r.rss_per_conn(r.rss_idle), 0), opt_num(r.rss_per_conn(r.rss_touched), 0));
  s += fmt::format("\"bench\":{{\"cpu_s\":{:.3f},\"wait_for_cpu_s\":{},\"cpu_us_per_delivery\":{}}},",
                   r.bench_cpu_s, opt_num(r.bench_wait_s), opt_num(r.per_delivery_us(r.bench_cpu_s), 4));
  if (o.presence)
    s += fmt::format("\"presence\":{{\"join_s\":{:.3f},\"welcomes\":{},\"presence_events\":{},"
                     "\"presence_events_before_broadcast\":{},\"broadcast_received\":{},\"broadcast_p50_ms\":{:.3f},"
                     "\"broadcast_p99_ms\":{:.3f},\"broadcast_max_ms\":{:.3f},\"server_closes\":{}}},",
                     r.join_s, r.st.welcomes, r.st.presence_events, r.presence_before_broadcast, r.st.broadcasts,
                     us(lat.quantile(0.5)) / 1e3, us(lat.quantile(0.99)) / 1e3, us(lat.max()) / 1e3,
                     r.st.server_closes);
  s += fmt::format("\"ok\":{}}}", r.ok());
  std::puts(s.c_str());
}

void print_text(report const& r) {
  auto const& o = *r.opt;
  std::string mode = o.senders == 0 ? fmt::format("idle for {} s", o.duration)
                                    : fmt::format("{} s after {} s warm-up", o.duration, o.warmup);
  fmt::print("crier-bench{}: {} clients in {} room(s), {} senders, {} {} messages{}, {}, {}, {} thread(s)\n",
             o.scenario.empty() ? "" : " scenario " + o.scenario, o.clients, o.rooms, o.senders,
             o.payload == "words" ? "150-300 B chat" : fmt::format("{} B", o.size), o.binary ? "binary" : "text",
             o.deflate ? fmt::format(" (permessage-deflate offered, {} took it)", r.st.deflate_negotiated) : "",
             o.rate > 0 ? fmt::format("{} msg/s per sender (window {})", o.rate, o.in_flight)
                        : fmt::format("window {}", o.in_flight),
             mode, o.threads);
  if (o.receivers != "ws")
    fmt::print("  receivers   {} (the senders raw WebSocket); {} crier.v1 events other than messages\n",
               o.receivers == "sse" ? "event streams, GET /sse/<room>" : "WebSocket with crier.v1", r.st.other_events);
  fmt::print("  connect     {} of {} in {:.2f} s (handshake p50 {}, p99 {})\n", r.connected, o.clients, r.connect_s,
             human_ns(r.st.connect.quantile(0.5)), human_ns(r.st.connect.quantile(0.99)));
 if (o.presence) {
    auto const& lat = r.st.latency;
    fmt::print("  join        {} welcomes in {:.2f} s (first connect to last welcome)\n", r.st.welcomes, r.join_s);
    fmt::print("  presence    {} events received ({} before the broadcast; quiet after {:.2f} s)\n",
               r.st.presence_events, r.presence_before_broadcast, r.settle_s);
    fmt::print("  broadcast   {} of {} received: p50 {}  p99 {}  max {}\n", r.st.broadcasts, r.connected,
               human_ns(lat.quantile(0.5)), human_ns(lat.quantile(0.99)), human_ns(lat.max()));
    fmt::print("  closes      {} by the server\n", r.st.server_closes);
  } else if (!r.idle()) {
    auto const& lat = r.st.latency;
    fmt::print("  sent        {:.0f} msg/s\n", r.sent_per_s());
    fmt::print("  deliveries  {:.0f} /s ({:.1f} MB/s of payload)\n", r.deliveries_per_s(), r.bytes_per_s() / 1e6);
    fmt::print("  latency     p50 {}  p90 {}  p99 {}  max {}\n", human_ns(lat.quantile(0.5)),
               human_ns(lat.quantile(0.9)), human_ns(lat.quantile(0.99)), human_ns(lat.max()));
  } else if (o.touch) {
    fmt::print("  traffic     every client sent 1 message: {} deliveries\n", r.unique);
  }
  fmt::print("  integrity   loss {}{}, gaps {}, duplicates {}, reorders {}, corrupt {}, errors {}{}\n", r.loss,
             r.drained ? "" : fmt::format(" (still missing after the {} s drain)", o.drain_timeout), r.st.gaps,
             r.st.duplicates, r.st.reorders, r.st.corrupt + r.st.foreign, r.st.errors,
             r.st.first_error.empty() ? "" : " (first: " + r.st.first_error + ")");
  if (r.server_pid != 0) {
    std::string line = fmt::format("  server      pid {}:", r.server_pid);
    if (r.server_cpu_s) {
      line += fmt::format(" cpu {:.2f} s ({:.0f} %)", *r.server_cpu_s, 100 * *r.server_cpu_s / r.window_s);
      if (auto per = r.per_delivery_us(*r.server_cpu_s)) line += fmt::format(" = {:.3f} us/delivery;", *per);
    }
    if (auto per = r.per_delivery(r.server_tcp_bytes)) {
      line += fmt::format(" sent {:.1f} B/delivery over TCP", *per);
      if (r.server_tcp_segments && *r.server_tcp_segments > 0)
        line += fmt::format(" ({:.0f} B/segment)",
                            static_cast<double>(*r.server_tcp_bytes) / static_cast<double>(*r.server_tcp_segments));
      line += ';';
    }
    if (r.server_wait_s && *r.server_wait_s > 0.05 * r.window_s)
      line += fmt::format(" waited {:.2f} s for a CPU (machine busy);", *r.server_wait_s);
    if (r.rss_start) line += " rss " + human_kib(*r.rss_start) + " at start";
    if (r.rss_connected) line += ", " + human_kib(*r.rss_connected) + " connected";
    if (r.rss_end) line += ", " + human_kib(*r.rss_end) + " at end";
    fmt::print("{}\n", line);
    if (auto v = r.rss_per_conn(r.rss_idle)) fmt::print("  rss/conn    {:.0f} B idle", *v);
    if (auto v = r.rss_per_conn(r.rss_touched)) fmt::print(", {:.0f} B after traffic", *v);
    if (r.rss_per_conn(r.rss_idle)) fmt::print("\n");
  }
  if (!r.idle()) {
    std::string line = fmt::format("  bench       cpu {:.2f} s", r.bench_cpu_s);
    if (auto per = r.per_delivery_us(r.bench_cpu_s)) line += fmt::format(" = {:.3f} us/delivery", *per);
    fmt::print("{}\n", line);
  }
  fmt::print("  result      {}\n", r.ok() ? "ok" : "FAILED");
  std::fflush(stdout);
}

} // namespace crier::bench
