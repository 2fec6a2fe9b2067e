#pragma once
// The server's side of permessage-deflate negotiation (RFC 7692): which of a client's offers to
// accept, and the Sec-WebSocket-Extensions answer for it.
//
// crier compresses each broadcast once and sends the same bytes to every recipient that took the
// extension. Either each message on its own, valid on every connection, and the answer carries
// server_no_context_takeover; or, when the server may keep its context, as one stream per room
// that every member in step with it can inflate (server/rooms/deflated.hpp), and the answer leaves
// server_no_context_takeover out unless the client asked for it. An offer the server
// cannot accept (a malformed or unknown parameter, a repeated one, a value out of range) is
// declined as the RFC says, and the next offer is tried; when none is acceptable the connection
// goes on without the extension, never a failed handshake.

#include <string>
#include <string_view>

namespace crier {

// The window crier asks a client to compress with when its offer lets the server choose
// (client_max_window_bits without a value): the inflater's window is 2^10 bytes per connection
// instead of 32 KiB, and a chat message of up to 1 KiB loses nothing by it.
inline constexpr int preferred_client_window_bits = 10;

struct deflate_agreement {
  bool accepted = false;
  // The window the client inflates with: a compressed message sent to it may refer at most this
  // far back. A message compressed on its own and no longer than 2^bits fits whatever window it
  // was compressed with; longer ones go to this client plain.
  int server_max_window_bits = 15;
  // The window the client compresses with, and so the one the server inflates with.
  int client_max_window_bits = 15;
  bool client_no_context_takeover = false;
  // The server may compress a message with reference to the ones before it (the answer has no
  // server_no_context_takeover).
  bool server_context_takeover = false;
  // The Sec-WebSocket-Extensions value of the 101 response; empty when nothing was accepted.
  std::string response;
};

// `offers` is the request's Sec-WebSocket-Extensions, its field lines joined with ",". The first
// acceptable permessage-deflate offer wins; other extensions are ignored. A syntax error in the
// header declines everything (nothing after it can be trusted to mean what it says).
// `keep_context`: the server would like to keep its compression context between messages.
deflate_agreement negotiate_deflate(std::string_view offers, bool keep_context = false);

} // namespace crier
