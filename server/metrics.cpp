#include "server/metrics.hpp"

#include "server/rooms/deflated.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>
#include <unistd.h>

#include <dirent.h>

namespace crier {
namespace {

struct process_figures {
  double cpu_seconds = 0;
  double start_time = 0;
  std::uint64_t rss_bytes = 0;
  std::uint64_t open_fds = 0;
  std::uint64_t max_fds = 0;
};

process_figures read_process() {
  process_figures p;
  auto const ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  auto const page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (std::getline(stat, line)) {
    // Fields after the command name, which sits in parentheses and may hold spaces.
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string field;
    std::vector<std::string> f;
    while (rest >> field) f.push_back(field);
    // f[0] is field 3 (state): utime is field 14, stime 15, starttime 22, rss 24.
    if (f.size() > 21) {
      p.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
      p.rss_bytes = std::stoull(f[21]) * page;
      std::ifstream uptime_file("/proc/uptime");
      double uptime = 0;
      uptime_file >> uptime;
      auto const boot = static_cast<double>(::time(nullptr)) - uptime;
      p.start_time = boot + std::stod(f[19]) / ticks;
    }
  }
  if (auto* dir = ::opendir("/proc/self/fd")) {
    while (auto* e = ::readdir(dir))
      if (e->d_name[0] != '.') ++p.open_fds;
    ::closedir(dir);
    if (p.open_fds > 0) --p.open_fds; // the directory handle itself
  }
  std::ifstream limits("/proc/self/limits");
  while (std::getline(limits, line)) {
    if (line.starts_with("Max open files")) {
      std::istringstream in(line.substr(14));
      in >> p.max_fds;
    }
  }
  return p;
}

class writer {
public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  }
  template <class V>
  void sample(std::string_view name, V value, std::string_view labels = {}) {
    out_ << name;
    if (!labels.empty()) out_ << '{' << labels << '}';
    out_ << ' ' << value << '\n';
  }
  std::string str() const { return out_.str(); }

private:
  std::ostringstream out_;
};

} // namespace

void metrics::closed(std::uint16_t code) noexcept {
  if (code == 0) code = 1006;
  for (std::size_t i = 0; i < close_codes_.size(); ++i) {
    if (close_codes_[i] == code) {
      bump(closes_[i]);
      return;
    }
  }
  bump(closes_.back());
}

std::string_view to_string(api_route r) noexcept {
  switch (r) {
  case api_route::rooms: return "rooms";
  case api_route::room: return "room";
  case api_route::history: return "history";
  case api_route::publish: return "publish";
  case api_route::disconnect_room: return "disconnect_room";
  case api_route::disconnect_user: return "disconnect_user";
  default: return "unknown";
  }
}

void metrics::api_call(api_route r, unsigned status) noexcept {
  auto const route = std::min(static_cast<std::size_t>(r), api_calls_.size() - 1);
  std::size_t i = 0;
  while (i + 1 < api_statuses_.size() && api_statuses_[i] != status) ++i;
  bump(api_calls_[route][i]);
}

void metrics::webhook_request(std::chrono::microseconds took) noexcept {
  auto const seconds = static_cast<double>(took.count()) / 1e6;
  std::size_t i = 0;
  while (i < webhook_buckets_.size() && seconds > webhook_buckets_[i]) ++i;
  bump(webhook_durations_[i]);
  bump(webhook_duration_us_, static_cast<std::uint64_t>(std::max<std::int64_t>(took.count(), 0)));
}

std::string metrics::render(metrics_gauges const& g) const {
  auto const load = [](auto const& a) { return a.load(std::memory_order_relaxed); };
  writer w;
  w.family("crier_build_info", "gauge", "Build information; the value is always 1.");
  w.sample("crier_build_info", 1, "version=\"" CRIER_VERSION "\"");

  w.family("crier_connections", "gauge", "Sessions open now: WebSocket sessions and event streams.");
  w.sample("crier_connections", g.sessions);
  w.family("crier_parked_connections", "gauge",
           "WebSocket sessions parked now (--park-after): quiet, without the WebSocket stream's state until they next "
           "need it; counted in crier_connections too.");
  w.sample("crier_parked_connections", parked_.load(std::memory_order_relaxed));
  w.family("crier_sse_streams", "gauge", "Event streams (/sse/<room>) open now, counted in crier_connections too.");
  w.sample("crier_sse_streams", g.event_streams);
  w.family("crier_sse_skipped_total", "counter", "Binary messages not sent to event streams, which carry text only.");
  w.sample("crier_sse_skipped_total", load(sse_skipped_.v));
  w.family("crier_connections_total", "counter", "Session attempts (WebSocket upgrades and event streams) by outcome.");
  static constexpr std::array<std::string_view, 6> outcome_names{"accepted",       "rejected_origin",
                                                                 "rejected_auth",  "rejected_limit",
                                                                 "handshake_failed", "rejected_forbidden"};
  static_assert(outcome_names.size() == static_cast<std::size_t>(conn_outcome::count_));
  for (std::size_t i = 0; i < outcome_names.size(); ++i)
    w.sample("crier_connections_total", load(outcomes_[i]), "outcome=\"" + std::string(outcome_names[i]) + "\"");

  w.family("crier_closes_total", "counter", "Closed sessions by close code (1006: no close frame, or an event stream's client left).");
  for (std::size_t i = 0; i < close_codes_.size(); ++i)
    w.sample("crier_closes_total", load(closes_[i]), "code=\"" + std::to_string(close_codes_[i]) + "\"");
  w.sample("crier_closes_total", load(closes_.back()), "code=\"other\"");

  w.family("crier_messages_in_total", "counter", "Messages received from clients.");
  w.sample("crier_messages_in_total", load(messages_in_.v));
  w.family("crier_bytes_in_total", "counter", "Payload bytes received from clients.");
  w.sample("crier_bytes_in_total", load(bytes_in_.v));
  w.family("crier_fanout_deliveries_total", "counter", "Messages queued for members by broadcasts.");
  w.sample("crier_fanout_deliveries_total", load(deliveries_.v));
  w.family("crier_fanout_bytes_total", "counter", "Payload bytes queued for members by broadcasts.");
  w.sample("crier_fanout_bytes_total", load(fanout_bytes_.v));
  w.family("crier_messages_out_total", "counter", "Messages written to clients.");
  w.sample("crier_messages_out_total", load(messages_out_.v));
  w.family("crier_write_batches_total", "counter",
           "Batches of messages written to clients, each in one socket write (messages out per batch: the batching).");
  w.sample("crier_write_batches_total", load(batches_out_.v));
  w.family("crier_bytes_out_total", "counter", "Payload bytes written to clients.");
  w.sample("crier_bytes_out_total", load(bytes_out_.v));
  w.family("crier_compressed_messages_out_total", "counter",
           "Messages written to clients compressed with permessage-deflate.");
  w.sample("crier_compressed_messages_out_total", load(compressed_out_.v));
  w.family("crier_compressed_stream_messages_out_total", "counter",
           "Of those, messages from a room's compression stream (the rest were compressed on their own).");
  w.sample("crier_compressed_stream_messages_out_total", load(streamed_out_.v));
  w.family("crier_compressions_total", "counter",
           "Messages compressed: once per broadcast and format, however many members receive it.");
  w.sample("crier_compressions_total", deflate_compressions());

  w.family("crier_slow_consumer_closes_total", "counter", "Sessions closed with 1008 for falling behind.");
  w.sample("crier_slow_consumer_closes_total", load(slow_closes_.v));
  w.family("crier_slow_consumer_dropped_total", "counter", "Messages dropped for slow sessions (drop-oldest).");
  w.sample("crier_slow_consumer_dropped_total", load(slow_drops_.v));
  w.family("crier_rate_limited_total", "counter", "Messages refused by the per-connection rate limit.");
  w.sample("crier_rate_limited_total", load(rate_limited_.v));
  w.family("crier_protocol_errors_total", "counter", "crier.v1 messages answered with an error event.");
  w.sample("crier_protocol_errors_total", load(protocol_errors_.v));
  w.family("crier_forbidden_total", "counter",
           "Messages and requests refused because the member's token does not allow them in the room.");
  w.sample("crier_forbidden_total", load(forbidden_.v));
  w.family("crier_http_requests_total", "counter", "HTTP requests read (upgrades included).");
  w.sample("crier_http_requests_total", load(http_requests_.v));
  w.family("crier_api_requests_total", "counter",
           "Server API calls by route and the status answered (\"other\": any status not listed).");
  for (std::size_t r = 0; r < api_calls_.size(); ++r)
    for (std::size_t s = 0; s < api_statuses_.size(); ++s)
      if (auto const n = load(api_calls_[r][s]); n > 0)
        w.sample("crier_api_requests_total", n,
                 "route=\"" + std::string(to_string(static_cast<api_route>(r))) + "\",status=\"" +
                   (api_statuses_[s] == 0 ? std::string("other") : std::to_string(api_statuses_[s])) + "\"");

  w.family("crier_timeouts_total", "counter", "Connections ended by a timeout, by kind.");
  w.sample("crier_timeouts_total", load(handshake_timeouts_.v), "kind=\"handshake\"");
  w.sample("crier_timeouts_total", load(idle_timeouts_.v), "kind=\"idle\"");
  w.family("crier_accept_errors_total", "counter", "Failed accepts (e.g. out of file descriptors).");
  w.sample("crier_accept_errors_total", load(accept_errors_.v));

  w.family("crier_io_uring_sends_total", "counter",
           "Socket writes handed to the kernel through io_uring (--io-uring): a broadcast's writes, up to 32 per "
           "system call.");
  w.sample("crier_io_uring_sends_total", g.io_uring_sends);
  w.family("crier_io_uring_submits_total", "counter", "System calls that made those writes.");
  w.sample("crier_io_uring_submits_total", g.io_uring_submits);

  w.family("crier_rooms", "gauge", "Rooms in memory, with members or keeping history.");
  w.sample("crier_rooms", g.rooms);
  w.family("crier_queued_bytes", "gauge", "Bytes waiting in all sessions' outbound queues.");
  w.sample("crier_queued_bytes", g.queued_bytes);
  w.family("crier_ready", "gauge", "1 while the server accepts new sessions (see /readyz).");
  w.sample("crier_ready", g.ready ? 1 : 0);

  if (g.redis_up >= 0) {
    w.family("crier_redis_up", "gauge", "1 while this node is connected to Redis (--redis).");
    w.sample("crier_redis_up", g.redis_up);
    w.family("crier_redis_dropped_messages_total", "counter",
             "Messages this node's members sent that may have missed the other nodes (Redis unreachable or "
             "not answering): text went out here without a seq.");
    w.sample("crier_redis_dropped_messages_total", load(redis_dropped_.v));
    w.family("crier_redis_link_losses_total", "counter",
             "Times this node's link to Redis went down: lost, or no answer within the liveness deadline.");
    w.sample("crier_redis_link_losses_total", load(redis_link_losses_.v));
    w.family("crier_redis_skipped_messages_total", "counter",
             "Seqs this node gave up waiting for (lost on the channel and no longer in the stream).");
    w.sample("crier_redis_skipped_messages_total", load(redis_skipped_.v));
    w.family("crier_redis_late_messages_total", "counter",
             "Messages this node's members got without a seq because Redis had not given one within 250 ms; "
             "the other nodes may still get them with it (if not, they are also counted as dropped).");
    w.sample("crier_redis_late_messages_total", load(redis_late_.v));
  }

  if (g.webhooks) {
    w.family("crier_webhook_events_sent_total", "counter", "Webhook events the receiver acknowledged (2xx).");
    w.sample("crier_webhook_events_sent_total", load(webhook_sent_.v));
    w.family("crier_webhook_events_retried_total", "counter",
             "Webhook events sent again because their request failed (not 2xx, an error or a timeout).");
    w.sample("crier_webhook_events_retried_total", load(webhook_retried_.v));
    w.family("crier_webhook_events_dropped_total", "counter",
             "Webhook events dropped: the oldest past --webhook-queue, or still queued when shutdown ended.");
    w.sample("crier_webhook_events_dropped_total", load(webhook_dropped_.v));
    w.family("crier_webhook_queue_events", "gauge", "Webhook events waiting for the receiver's acknowledgement.");
    w.sample("crier_webhook_queue_events", load(webhook_queued_.v));
    w.family("crier_webhook_request_duration_seconds", "histogram",
             "Webhook requests, connect to answer, failures included.");
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < webhook_durations_.size(); ++i) {
      cumulative += load(webhook_durations_[i]);
      std::ostringstream le;
      if (i < webhook_buckets_.size())
        le << webhook_buckets_[i];
      else
        le << "+Inf";
      w.sample("crier_webhook_request_duration_seconds_bucket", cumulative, "le=\"" + le.str() + "\"");
    }
    w.sample("crier_webhook_request_duration_seconds_sum", static_cast<double>(load(webhook_duration_us_)) / 1e6);
    w.sample("crier_webhook_request_duration_seconds_count", cumulative);
  }

  auto const p = read_process();
  w.family("process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.");
  w.sample("process_cpu_seconds_total", p.cpu_seconds);
  w.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  w.sample("process_resident_memory_bytes", p.rss_bytes);
  w.family("process_open_fds", "gauge", "Open file descriptors.");
  w.sample("process_open_fds", p.open_fds);
  w.family("process_max_fds", "gauge", "Limit on open file descriptors.");
  w.sample("process_max_fds", p.max_fds);
  w.family("process_start_time_seconds", "gauge", "Start time of the process since the epoch, in seconds.");
  w.sample("process_start_time_seconds", static_cast<std::uint64_t>(p.start_time));
  return w.str();
}

} // namespace crier
