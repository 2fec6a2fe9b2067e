// crier-bench: a WebSocket load generator for crier and for the peers it is compared with.
//
// Clients connect to ws://HOST:PORT/<path>; the first --senders of them send messages that carry
// a sender id, a per-sender sequence number and a send time, padded to --size (or, with
// --payload words, inside JSON chat messages of 150-300 bytes of English words). Every client
// reads everything its room delivers and checks it: latency, loss, gaps, duplicates, reordering,
// and with --payload words every byte. With --deflate the clients offer permessage-deflate and
// check what they inflate.
// With --receivers json or sse, the clients that do not send read crier.v1 events instead (over
// WebSocket, or as an event stream from GET /sse/<room>) and check the text of every message event.
// A sender keeps at most --in-flight messages that it has not yet received back itself; with
// --rate it sends that many messages per second, otherwise as fast as that window allows.
//
// Traffic goes to loopback addresses only, and every phase has a time bound.
//
// main.cpp parses the flags and runs; options.cpp holds the flags and the scenario presets,
// phases.cpp the run, client.cpp the connections, report.cpp the printed result; in the support
// library, chat_payload.cpp the chat messages and tcp_bytes.cpp what the server sent over TCP.

#include "bench/options.hpp"
#include "bench/phases.hpp"

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  crier::bench::options o;
  if (auto status = crier::bench::parse(argc, argv, o)) return *status;
  try {
    return crier::bench::run(o);
  } catch (std::exception const& e) {
    std::fprintf(stderr, "crier-bench: %s\n", e.what());
    return 3;
  }
}
