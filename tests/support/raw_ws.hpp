#pragma once
// A raw-frame WebSocket client for conformance tests. It does the HTTP upgrade by hand over a plain
// TCP socket and then writes whatever frames a test builds, well-formed or not (any FIN/RSV bits,
// any opcode, masked or not, any payload, any fragmentation), and parses what the server sends
// back frame by frame, so a test can see exactly which frames and close codes the server produced
// and when it closed the TCP connection. Every read and write has a deadline: a test waiting for
// something that never comes fails instead of hanging.

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crier::test {

using namespace std::chrono_literals;

// RFC 6455 section 5.2 opcodes (3-7 and 0xB-0xF are reserved).
namespace ws_op {
inline constexpr std::uint8_t cont = 0x0;
inline constexpr std::uint8_t text = 0x1;
inline constexpr std::uint8_t binary = 0x2;
inline constexpr std::uint8_t close = 0x8;
inline constexpr std::uint8_t ping = 0x9;
inline constexpr std::uint8_t pong = 0xA;
} // namespace ws_op

// A frame as the client puts it on the wire; nothing is validated.
struct out_frame {
  std::uint8_t opcode = ws_op::text; // only the low 4 bits are used
  std::string payload;
  bool fin = true;
  bool rsv1 = false;
  bool rsv2 = false;
  bool rsv3 = false;
  bool masked = true; // RFC 6455 requires it of clients
  std::uint32_t mask_key = 0x9c3a51e7;
};

// The frame's bytes, with the shortest length encoding (7-bit, 16-bit or 64-bit).
std::string encode_frame(out_frame const& f);

// A close frame's payload: the code in network byte order, then the reason.
std::string close_payload(std::uint16_t code, std::string_view reason = {});

// A frame as the server sent it (unmasked, if it was masked).
struct in_frame {
  bool fin = false;
  bool rsv1 = false;
  bool rsv2 = false;
  bool rsv3 = false;
  std::uint8_t opcode = 0;
  bool masked = false;
  std::string payload;

  // For a close frame with a status code: the code and the reason after it.
  std::optional<std::uint16_t> close_code() const;
  std::string close_reason() const;
};

// A parsed HTTP response head (the handshake's answer).
struct http_head {
  unsigned status = 0;
  std::string reason;
  std::map<std::string, std::string> fields; // names lower-cased
  std::string body;                          // only when Content-Length says so

  std::string field(std::string const& lower_name) const;
};

class raw_ws {
public:
  // The sample nonce of RFC 6455 section 1.3 and the Sec-WebSocket-Accept the RFC derives from
  // it: the accept value is checked against the RFC's own text, not against a second
  // implementation of the same SHA-1 and base64 code.
  static constexpr std::string_view sample_key = "dGhlIHNhbXBsZSBub25jZQ==";
  static constexpr std::string_view sample_accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

  raw_ws() = default;
  // Connects to 127.0.0.1:port and upgrades `target`; throws unless the server answers 101 with
  // the right Sec-WebSocket-Accept.
  raw_ws(std::uint16_t port, std::string const& target) { connect(port, target); }
  raw_ws(raw_ws const&) = delete;
  raw_ws& operator=(raw_ws const&) = delete;

  // `headers` are extra request lines, each ending in "\r\n" (say, a Sec-WebSocket-Extensions offer).
  // `receive_buffer` > 0 sets SO_RCVBUF before connecting: a small one makes a reader that stops
  // reading stall the server's writes to it soon.
  void connect(std::uint16_t port, std::string const& target, std::chrono::milliseconds timeout = 5s,
               std::string const& headers = {}, int receive_buffer = 0);
  // The 101 response of connect().
  http_head const& handshake() const { return handshake_; }
  // The TCP connection only, for tests that write their own request bytes.
  void connect_tcp(std::uint16_t port, std::chrono::milliseconds timeout = 5s, int receive_buffer = 0);
  // The upgrade request `connect` sends, for tests that want to alter it.
  static std::string upgrade_request(std::string const& target, std::string_view key = sample_key,
                                     std::string const& headers = {});

  // Writes bytes as they are; throws on error or timeout.
  void write_raw(std::string_view bytes, std::chrono::milliseconds timeout = 5s);
  void send(out_frame const& f, std::chrono::milliseconds timeout = 5s) { write_raw(encode_frame(f), timeout); }
  // Several frames in one write, so the server sees them together.
  void send_all(std::vector<out_frame> const& frames, std::chrono::milliseconds timeout = 5s);

  // Reads one HTTP response head (and a Content-Length body); nullopt when the connection ends or
  // the deadline passes first, or the bytes are not an HTTP response.
  std::optional<http_head> read_http(std::chrono::milliseconds timeout = 5s);

  enum class read_status {
    frame,   // `frame` holds the next server frame
    closed,  // the server closed the TCP connection (FIN or RST) before a whole frame came
    timeout, // the deadline passed
  };
  struct read_result {
    read_status status = read_status::timeout;
    in_frame frame;
    boost::system::error_code ec; // what ended the read, when it was not a frame
    std::size_t partial = 0;      // bytes of an unfinished frame left when the connection ended
  };
  read_result read_frame(std::chrono::milliseconds timeout = 5s);

  // Waits for the server to close the TCP connection. Returns true when it does within the
  // deadline and nothing else arrived first; `extra` receives any bytes that did arrive.
  bool wait_tcp_close(std::chrono::milliseconds timeout = 5s, std::string* extra = nullptr);

  // Closes the client's side of the TCP connection at once.
  void close_tcp();
  // Resets the connection (SO_LINGER 0, then close): the peer gets an RST, not a FIN.
  void reset_tcp();

private:
  // Reads more bytes into buffer_ before `deadline`. Returns the error that stopped it (eof,
  // connection_reset, timed_out, ...), or success when some bytes came.
  boost::system::error_code read_more(std::chrono::steady_clock::time_point deadline);

  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_{ioc_};
  std::string buffer_; // received but not yet consumed
  http_head handshake_;
};

} // namespace crier::test
