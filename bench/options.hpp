#pragma once
// crier-bench's command line: the options of one run, and the parser that fills them.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace crier::bench {

struct options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::vector<std::uint16_t> ports; // several nodes of one cluster; client c connects to ports[c % n]
  std::string path = "/ws/bench";
  unsigned clients = 100;
  unsigned senders = 10;
  unsigned rooms = 1;
  std::size_t size = 64;
  double rate = 0;
  unsigned in_flight = 16;
  double duration = 10;
  double warmup = 2;
  bool binary = false;
  // fixed: make_payload's header and padding, --size bytes. words: chat_corpus's JSON chat
  // messages of 150-300 bytes (bench/chat_payload.hpp), what scenario (v) compresses.
  std::string payload = "fixed";
  // Offer permessage-deflate (Beast's client side): Beast inflates what arrives compressed
  // before the checks see it, and compresses what the senders send, as a browser does.
  bool deflate = false;
  std::string subprotocol;
  // What the clients that do not send are: ws (raw WebSocket, every payload as sent), json
  // (WebSocket with crier.v1: the payload is the text of a message event) or sse (GET /sse/<room>
  // over HTTP/1.1: the text of the message events of the event stream). Senders stay raw
  // WebSocket clients in every case, so the three see the same messages from the same senders.
  std::string receivers = "ws";
  std::string scenario;
  int server_pid = 0;
  bool json = false;
  unsigned threads = 1;
  bool touch = false;
  unsigned connect_concurrency = 128;
  double connect_timeout = 60;
  double drain_timeout = 10;
  double settle = 1;
  // --scenario presence: crier.v1 clients join one room, then one of them sends one message;
  // reports the join time, the presence events received, the broadcast's latency and closes.
  bool presence = false;
};

// Parses argv into `o`, applying the --scenario preset under the flags given, and checks the
// combination; returns an exit status when the program should stop (help or bad flag).
std::optional<int> parse(int argc, char** argv, options& o);

} // namespace crier::bench
