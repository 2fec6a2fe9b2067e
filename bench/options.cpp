// crier-bench's flags, the scenario presets (docs/performance.md), and the checks that refuse
// a run that could not be measured or would leave loopback.

#include "bench/options.hpp"

#include "bench/bench_support.hpp"
#include "bench/chat_payload.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>

namespace crier::bench {
namespace {

constexpr unsigned max_clients = 19'000; // under the 20,000 descriptor hard limit
constexpr std::size_t max_tracked_pairs = 50'000'000;

struct preset {
  unsigned clients, senders, rooms;
  std::size_t size;
  double rate;
  unsigned in_flight;
  double duration, warmup;
  bool touch;
  bool words, deflate; // --payload words, --deflate
};

preset scenario_preset(std::string const& s) {
  // (iii) spreads its 10,000 clients over 1,000 rooms of 10 so that the after-traffic phase, where
  // every client sends one message and receives its room's, is 100k deliveries instead of 100M.
  if (s == "i") return {100, 10, 1, 64, 0, 16, 10, 2, false, false, false};
  if (s == "ii") return {1000, 1, 1, 64, 100, 0, 10, 2, false, false, false};
  if (s == "iii") return {10'000, 0, 1000, 64, 0, 0, 5, 0, true, false, false};
  if (s == "presence") return {10'000, 0, 1, 64, 0, 0, 1, 0, false, false, false};
  // (v): compression. 1,000 clients in one room, 4 senders of chat messages, every client
  // offering permessage-deflate. v at a fixed rate, 100 msg/s in all as in (ii), so that bytes and
  // CPU per delivery with and without compression are compared at the same load; v-max as fast
  // as a window of 16 per sender allows (as (i)), for deliveries/s. The window also bounds v: a
  // server that falls behind the rate (Node ws compressing for every member does) skips ticks
  // instead of queueing without end. (The size is for --payload fixed only.)
  if (s == "v") return {1000, 4, 1, 256, 25, 16, 10, 2, false, true, true};
  if (s == "v-max") return {1000, 4, 1, 256, 0, 16, 10, 2, false, true, true};
  return {10, 10, 1, 64 * 1024, 0, 2, 10, 2, false, false, false}; // iv
}

} // namespace

std::optional<int> parse(int argc, char** argv, options& o) {
  CLI::App app{"crier-bench: WebSocket broadcast load generator (loopback only)", "crier-bench"};
  app.add_option("--host", o.host, "server address; must be a loopback address")->capture_default_str();
  auto* port = app.add_option("--port", o.port, "server port")->capture_default_str();
  app.add_option("--ports", o.ports,
                 "ports of several nodes of one cluster (comma-separated): client c connects to the "
                 "(c mod n)-th, so senders and receivers are spread over every node")
    ->delimiter(',')
    ->excludes(port);
  auto* path = app.add_option("--path", o.path, "WebSocket path, /ws/<room>")->capture_default_str();
  std::string room;
  app.add_option("--room", room, "room name: same as --path /ws/<room>")->excludes(path);
  auto* clients = app.add_option("--clients", o.clients, "connections")->check(CLI::Range(1u, max_clients));
  auto* senders = app.add_option("--senders", o.senders, "how many of the clients send");
  auto* rooms = app.add_option("--rooms", o.rooms, "spread the clients over this many rooms (<path>-<n>)")
                  ->check(CLI::Range(1u, max_clients));
  auto* size = app.add_option("--size", o.size, "message size in bytes")
                 ->check(CLI::Range(header_size, std::size_t{1} << 20));
  auto* rate = app.add_option("--rate", o.rate, "messages/s per sender; 0: as fast as --in-flight allows")
                 ->check(CLI::Range(0.0, 100'000.0));
  auto* in_flight = app.add_option("--in-flight", o.in_flight,
                                   "messages a sender has sent that not every client of its room has received yet (with "
                                   "--threads 1; with more, that the sender has not received back) (0: unbounded, with --rate)")
                      ->check(CLI::Range(0u, 4096u));
  auto* duration = app.add_option("--duration", o.duration, "measured seconds (idle hold for --senders 0)")
                     ->check(CLI::Range(0.1, 120.0));
  auto* warmup = app.add_option("--warmup", o.warmup, "seconds of traffic before measuring")->check(CLI::Range(0.0, 60.0));
  app.add_flag("--binary", o.binary, "send binary messages instead of text");
  auto* payload = app.add_option("--payload", o.payload,
                                 "fixed: --size bytes of header and padding; words: JSON chat messages of 150-300 "
                                 "bytes made of English words (deterministic), for compression")
                      ->check(CLI::IsMember({"fixed", "words"}))
                      ->capture_default_str();
  auto* deflate = app.add_flag("--deflate,!--no-deflate", o.deflate,
                               "offer permessage-deflate; what arrives is inflated before it is checked");
  auto* subprotocol = app.add_option("--subprotocol", o.subprotocol, "Sec-WebSocket-Protocol to ask for");
  app.add_option("--receivers", o.receivers,
                   "what the clients that do not send are: ws (raw WebSocket), json (WebSocket with crier.v1; "
                   "the text of message events is checked) or sse (GET /sse/<room>, the text of the event "
                   "stream's message events is checked); senders are raw WebSocket clients in every case")
      ->check(CLI::IsMember({"ws", "json", "sse"}))
      ->capture_default_str();
  app.add_option("--scenario", o.scenario,
                 "preset (docs/performance.md): i, ii, iii, iv, v or v-max (v: --payload words --deflate); or "
                 "presence (--clients crier.v1 clients join one room, then one broadcast); flags given override it")
      ->check(CLI::IsMember({"i", "ii", "iii", "iv", "v", "v-max", "presence"}));
  app.add_option("--server-pid", o.server_pid, "server process: read its CPU time and RSS from /proc")
    ->check(CLI::Range(1, 1 << 30));
  app.add_flag("--json", o.json, "print one JSON object instead of text");
  app.add_option("--threads", o.threads, "io threads of the load generator")->check(CLI::Range(1u, 8u))->capture_default_str();
  auto* touch = app.add_flag("--touch,!--no-touch", o.touch,
                             "idle mode: afterwards every client sends one message, then RSS is read again");
  app.add_option("--connect-concurrency", o.connect_concurrency, "handshakes in progress at once")
    ->check(CLI::Range(1u, 1024u))->capture_default_str();
  app.add_option("--connect-timeout", o.connect_timeout, "seconds for all clients to connect")
    ->check(CLI::Range(1.0, 300.0))->capture_default_str();
  app.add_option("--drain-timeout", o.drain_timeout, "seconds to wait for messages still on their way")
    ->check(CLI::Range(0.1, 60.0))->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (CLI::ParseError const& e) {
    // --help prints and exits 0; a bad flag exits 2, as crier's own flags do.
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (!o.scenario.empty()) {
    auto const p = scenario_preset(o.scenario);
    if (clients->count() == 0) o.clients = p.clients;
    if (senders->count() == 0) o.senders = p.senders;
    if (rooms->count() == 0) o.rooms = p.rooms;
    if (size->count() == 0) o.size = p.size;
    if (rate->count() == 0) o.rate = p.rate;
    if (in_flight->count() == 0) o.in_flight = p.in_flight;
    if (duration->count() == 0) o.duration = p.duration;
    if (warmup->count() == 0) o.warmup = p.warmup;
    if (touch->count() == 0) o.touch = p.touch;
    if (payload->count() == 0 && p.words) o.payload = "words";
    if (deflate->count() == 0) o.deflate = p.deflate;
    if (o.scenario == "presence") {
      o.presence = true;
      o.senders = 0;
      o.touch = false;
      if (o.subprotocol.empty()) o.subprotocol = "crier.v1";
    }
  }
  if (!room.empty()) o.path = "/ws/" + room;

  auto const usage = [](std::string const& msg) {
    std::fprintf(stderr, "crier-bench: %s\n", msg.c_str());
    return 2;
  };
  if (!is_loopback_host(o.host))
    return usage("--host: " + o.host + " is not a loopback address; crier-bench only sends to 127.0.0.0/8 or ::1");
  if (o.path.empty() || o.path.front() != '/') return usage("--path: must start with /");
  if (o.senders > o.clients) return usage("--senders: more senders than --clients");
  if (o.rooms > o.clients) return usage("--rooms: more rooms than --clients");
  if (o.rooms > 1 && !o.path.starts_with("/ws/")) return usage("--rooms: needs a --path of the form /ws/<room>");
  if (o.senders > 0 && o.rate == 0 && o.in_flight == 0)
    return usage("--in-flight: 0 (unbounded) needs a --rate");
  if (o.presence && (o.senders > 0 || o.rooms != 1)) return usage("--scenario presence: one room, no --senders");
  if (o.touch && o.senders > 0) return usage("--touch: only for the idle mode (--senders 0)");
  if (o.payload == "words") {
    // The messages make their own size; a --size given with them would be silently ignored.
    if (size->count() > 0) return usage("--size: not with --payload words (its messages are 150-300 bytes)");
    if (o.binary) return usage("--binary: not with --payload words (chat messages are text)");
    o.size = chat_corpus::max_size; // the largest message: what the read and write buffers are sized by
  }
  if (o.receivers != "ws") {
    // Receivers that read crier.v1 events: what a raw sender sends arrives as a message event's
    // text. The combinations below would measure something else, or nothing.
    auto const what = "--receivers " + o.receivers + ": ";
    if (o.presence) return usage(what + "not with --scenario presence (it has its own crier.v1 clients)");
    if (subprotocol->count() > 0)
      return usage(what + "not with --subprotocol (receivers ask for what they read, senders stay raw)");
    if (o.touch) return usage(what + "not with --touch (every client would have to send)");
    if (o.binary) return usage(what + "not with --binary (binary messages are relayed as they are, not as message events)");
    if (o.senders > 0 && o.senders >= o.clients) return usage(what + "every client is a sender: there is no receiver");
    if (o.receivers == "sse") {
      if (o.deflate) return usage(what + "not with --deflate (an event stream has no permessage-deflate)");
      // The receivers read the same room at /sse/<room>.
      if (!o.path.starts_with("/ws") || (o.path.size() > 3 && o.path[3] != '/' && o.path[3] != '?'))
        return usage(what + "needs a --path /ws/<room> (receivers read /sse/<room>)");
    }
  }
  auto const tracked_senders = o.touch ? o.clients : o.senders;
  if (static_cast<std::size_t>(o.clients) * ((tracked_senders + o.rooms - 1) / o.rooms) > max_tracked_pairs)
    return usage("--clients x --senders per room: too many pairs to track");
  return std::nullopt;
}

} // namespace crier::bench
