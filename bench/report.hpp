#pragma once
// The result of one run: the counts each worker keeps, merged into one report, printed as text or JSON.

#include "bench/bench_support.hpp"
#include "bench/options.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace crier::bench {

// What one worker counted. Each worker's thread writes its own; the main thread merges them
// once every worker thread has ended.
struct stats {
  std::uint64_t sent_total = 0, sent_window = 0;
  std::uint64_t received_total = 0, deliveries_window = 0;
  std::uint64_t payload_bytes_window = 0; // of the deliveries in the window, as the checks saw them (inflated)
  std::uint64_t deflate_negotiated = 0;   // --deflate: connections whose server took the offer
  std::uint64_t gaps = 0, missing = 0, duplicates = 0, reorders = 0, corrupt = 0, foreign = 0;
  std::uint64_t errors = 0, skipped_ticks = 0;
  // --scenario presence: frames by type, and connections the server closed.
  std::uint64_t welcomes = 0, presence_events = 0, broadcasts = 0, server_closes = 0;
  // --receivers json|sse: crier.v1 events other than messages (welcome, join, leave, presence).
  std::uint64_t other_events = 0;
  histogram latency; // ns, deliveries received inside the window
  histogram connect; // ns, TCP connect + handshake
  std::string first_error;

  void merge(stats const& o) {
    sent_total += o.sent_total;
    sent_window += o.sent_window;
    received_total += o.received_total;
    deliveries_window += o.deliveries_window;
    payload_bytes_window += o.payload_bytes_window;
    deflate_negotiated += o.deflate_negotiated;
    gaps += o.gaps;
    missing += o.missing;
    duplicates += o.duplicates;
    reorders += o.reorders;
    corrupt += o.corrupt;
    foreign += o.foreign;
    errors += o.errors;
    skipped_ticks += o.skipped_ticks;
    welcomes += o.welcomes;
    presence_events += o.presence_events;
    broadcasts += o.broadcasts;
    server_closes += o.server_closes;
    other_events += o.other_events;
    latency.merge(o.latency);
    connect.merge(o.connect);
    if (first_error.empty()) first_error = o.first_error;
  }
};

struct report {
  options const* opt = nullptr;
  unsigned connected = 0, connect_failed = 0;
  double connect_s = 0;
  double window_s = 0;
  stats st;
  std::uint64_t expected = 0, unique = 0, loss = 0;
  bool drained = true, closed_cleanly = true;
  int server_pid = 0;
  std::optional<double> server_cpu_s;
  // From the scheduler: how long the server's threads ran, and how long they were ready to run
  // but waited for a CPU that other work had (a loaded machine shows here, not in cpu_s).
  std::optional<double> server_run_s, server_wait_s;
  // TCP bytes the server sent on its connections in the window (tcp_bytes.hpp): WebSocket frames,
  // headers included, compressed or not.
  std::optional<std::uint64_t> server_tcp_bytes;
  std::optional<std::uint64_t> server_tcp_segments; // data segments those bytes went in
  std::optional<std::uint64_t> rss_start, rss_connected, rss_idle, rss_touched, rss_end;
  double bench_cpu_s = 0;
  // --scenario presence: from the first connect to the last welcome, and until presence went quiet.
  double join_s = 0, settle_s = 0;
  std::uint64_t presence_before_broadcast = 0;
  std::optional<double> bench_wait_s;

  bool idle() const { return opt->senders == 0; }
  double sent_per_s() const { return window_s > 0 ? static_cast<double>(st.sent_window) / window_s : 0; }
  double deliveries_per_s() const {
    return window_s > 0 ? static_cast<double>(st.deliveries_window) / window_s : 0;
  }
  double bytes_per_s() const { return window_s > 0 ? static_cast<double>(st.payload_bytes_window) / window_s : 0; }
  std::optional<double> per_delivery(std::optional<std::uint64_t> bytes) const {
    if (!bytes || st.deliveries_window == 0) return std::nullopt;
    return static_cast<double>(*bytes) / static_cast<double>(st.deliveries_window);
  }
  std::optional<double> per_delivery_us(double cpu_s) const {
    if (st.deliveries_window == 0) return std::nullopt;
    return cpu_s * 1e6 / static_cast<double>(st.deliveries_window);
  }
  std::optional<double> rss_per_conn(std::optional<std::uint64_t> at) const {
    if (!at || !rss_start || connected == 0) return std::nullopt;
    return (static_cast<double>(*at) - static_cast<double>(*rss_start)) * 1024.0 / connected;
  }
  bool ok() const {
    if (opt->presence)
      return connect_failed == 0 && st.errors == 0 && st.server_closes == 0 && st.broadcasts == connected;
    return connect_failed == 0 && loss == 0 && st.gaps == 0 && st.duplicates == 0 && st.reorders == 0 &&
           st.corrupt == 0 && st.foreign == 0 && st.errors == 0 && drained &&
           (idle() || st.deliveries_window > 0);
  }
};

// One JSON object on a line: bench/run keeps it and bench/report.js reads its fields by name.
void print_json(report const& r);
// The same for a person reading a terminal.
void print_text(report const& r);

} // namespace crier::bench
