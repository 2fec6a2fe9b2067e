// The inflate path of a session that took permessage-deflate, with the message size limit. A
// Beast server stream, set up the way a session sets itself up (the extension agreed by
// negotiate_deflate and answered in the 101, a read_message_max), reads the input as the
// payload of compressed frames from a client. Whatever the bytes, each read ends with a message
// no larger than the limit or with an error: no crash, no undefined behaviour, no hang, and no
// more memory than the limit allows (a bomb is stopped while it inflates). The same input, as a
// Sec-WebSocket-Extensions header, exercises the negotiation: an accepted offer is answered with
// server_no_context_takeover and windows in range.
#include "common/deflate_offer.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

constexpr std::size_t limit = 4096;

// A masked client frame (RFC 6455 section 5.2), with RSV1 when `compressed`.
void append_frame(std::string& out, std::uint8_t opcode, bool fin, bool compressed, std::string_view payload) {
  out += static_cast<char>((fin ? 0x80 : 0) | (compressed ? 0x40 : 0) | opcode);
  auto const n = payload.size();
  if (n < 126) {
    out += static_cast<char>(0x80 | n);
  } else if (n <= 0xffff) {
    out += static_cast<char>(0x80 | 126);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xff);
  } else {
    out += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  }
  std::array<char, 4> const key{'\x37', '\xfa', '\x21', '\x3d'};
  out.append(key.data(), key.size());
  for (std::size_t i = 0; i < n; ++i) out += static_cast<char>(payload[i] ^ key[i % 4]);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view const input(reinterpret_cast<char const*>(data), size);

  auto const any = crier::negotiate_deflate(input);
  if (any.accepted) {
    CRIER_FUZZ_CHECK(any.response.starts_with("permessage-deflate; server_no_context_takeover"));
    CRIER_FUZZ_CHECK(any.server_max_window_bits >= 8 && any.server_max_window_bits <= 15);
    CRIER_FUZZ_CHECK(any.client_max_window_bits >= 8 && any.client_max_window_bits <= 15);
  } else {
    CRIER_FUZZ_CHECK(any.response.empty());
  }

  if (size < 1) return 0;
  // The first byte picks the offer and how the payload is framed; the rest is the payload.
  std::uint8_t const how = data[0];
  std::string_view const payload = input.substr(1);
  static constexpr std::array<std::string_view, 4> offers{
    "permessage-deflate", "permessage-deflate; client_max_window_bits",
    "permessage-deflate; client_max_window_bits=9", "permessage-deflate; client_no_context_takeover"};
  auto const agreement = crier::negotiate_deflate(offers[how & 3]);
  CRIER_FUZZ_CHECK(agreement.accepted);

  std::string bytes =
    "GET /ws/fuzz HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Extensions: " + std::string(offers[how & 3]) + "\r\n\r\n";
  bool const text = (how & 4) != 0;
  std::uint8_t const opcode = text ? 0x1 : 0x2;
  if ((how & 8) != 0 && payload.size() > 1) {
    // Two fragments: RSV1 on the first only.
    auto const cut = payload.size() / 2;
    append_frame(bytes, opcode, false, true, payload.substr(0, cut));
    append_frame(bytes, 0x0, true, false, payload.substr(cut));
  } else {
    append_frame(bytes, opcode, true, true, payload);
  }
  // The same message again: with context takeover the second one may refer to the first.
  if ((how & 16) != 0) append_frame(bytes, opcode, true, true, payload);

  boost::asio::io_context ioc;
  beast::test::stream client(ioc);
  websocket::stream<beast::test::stream> ws(ioc);
  client.connect(ws.next_layer());
  ws.next_layer().append(bytes); // what the server reads, then the end of the input
  client.close();

  websocket::permessage_deflate pmd;
  pmd.server_enable = true;
  pmd.msg_size_threshold = SIZE_MAX;
  ws.set_option(pmd);
  ws.set_option(websocket::stream_base::decorator([&](websocket::response_type& res) {
    res.set(beast::http::field::sec_websocket_extensions, agreement.response);
  }));
  ws.read_message_max(limit);
  boost::system::error_code ec;
  ws.accept(ec);
  CRIER_FUZZ_CHECK(!ec);
  for (int i = 0; i < 3 && !ec; ++i) {
    beast::flat_buffer buffer;
    ws.read(buffer, ec);
    if (!ec) CRIER_FUZZ_CHECK(buffer.size() <= limit);
  }
  return 0;
}
