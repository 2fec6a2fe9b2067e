#include "tests/support/raw_ws.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <stdexcept>

namespace crier::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

std::string lower(std::string s) {
  std::ranges::transform(s, s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

template <class T>
bool parse_number(std::string_view text, T& out) {
  auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

// Runs one asynchronous operation on `ioc` until its handler ran. The tcp_stream's expiry closes
// the socket at the deadline, so the operation always completes.
template <class Op>
boost::system::error_code run(asio::io_context& ioc, beast::tcp_stream& stream, steady::time_point deadline, Op&& op) {
  stream.expires_at(deadline);
  std::optional<boost::system::error_code> result;
  op([&](boost::system::error_code ec) { result = ec; });
  ioc.restart();
  while (!result && ioc.run_one() > 0) {
  }
  stream.expires_never();
  return result.value_or(asio::error::timed_out);
}

} // namespace

std::string encode_frame(out_frame const& f) {
  std::string out;
  out.push_back(static_cast<char>((f.fin ? 0x80 : 0) | (f.rsv1 ? 0x40 : 0) | (f.rsv2 ? 0x20 : 0) |
                                  (f.rsv3 ? 0x10 : 0) | (f.opcode & 0x0f)));
  auto const mask_bit = f.masked ? 0x80 : 0;
  auto const n = f.payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(mask_bit | static_cast<int>(n)));
  } else if (n <= 0xffff) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>((n >> 8) & 0xff));
    out.push_back(static_cast<char>(n & 0xff));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
  }
  if (!f.masked) return out + f.payload;
  std::array<char, 4> const key{static_cast<char>(f.mask_key >> 24), static_cast<char>((f.mask_key >> 16) & 0xff),
                                static_cast<char>((f.mask_key >> 8) & 0xff), static_cast<char>(f.mask_key & 0xff)};
  out.append(key.data(), key.size());
  for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<char>(f.payload[i] ^ key[i % 4]));
  return out;
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  std::string out;
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xff));
  out.append(reason);
  return out;
}

std::optional<std::uint16_t> in_frame::close_code() const {
  if (opcode != ws_op::close || payload.size() < 2) return std::nullopt;
  return static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                    static_cast<unsigned char>(payload[1]));
}

std::string in_frame::close_reason() const {
  if (opcode != ws_op::close || payload.size() < 2) return {};
  return payload.substr(2);
}

std::string http_head::field(std::string const& lower_name) const {
  auto const it = fields.find(lower_name);
  return it == fields.end() ? std::string{} : it->second;
}

std::string raw_ws::upgrade_request(std::string const& target, std::string_view key, std::string const& headers) {
  return "GET " + target +
         " HTTP/1.1\r\n"
         "Host: 127.0.0.1\r\n"
         "Upgrade: websocket\r\n"
         "Connection: Upgrade\r\n"
         "Sec-WebSocket-Key: " +
         std::string(key) +
         "\r\n"
         "Sec-WebSocket-Version: 13\r\n" +
         headers + "\r\n";
}

void raw_ws::connect_tcp(std::uint16_t port, std::chrono::milliseconds timeout, int receive_buffer) {
  tcp::endpoint const ep{asio::ip::make_address("127.0.0.1"), port};
  if (receive_buffer > 0) {
    stream_.socket().open(tcp::v4());
    stream_.socket().set_option(asio::socket_base::receive_buffer_size(receive_buffer));
  }
  auto const ec = run(ioc_, stream_, steady::now() + timeout, [&](auto h) { stream_.async_connect(ep, h); });
  if (ec) throw std::runtime_error("raw_ws: TCP connect failed: " + ec.message());
  stream_.socket().set_option(tcp::no_delay(true));
}

void raw_ws::connect(std::uint16_t port, std::string const& target, std::chrono::milliseconds timeout,
                     std::string const& headers, int receive_buffer) {
  connect_tcp(port, timeout, receive_buffer);
  write_raw(upgrade_request(target, sample_key, headers), timeout);
  auto const head = read_http(timeout);
  if (!head) throw std::runtime_error("raw_ws: no HTTP response to the upgrade of " + target);
  if (head->status != 101)
    throw std::runtime_error("raw_ws: upgrade of " + target + " answered " + std::to_string(head->status));
  if (lower(head->field("upgrade")) != "websocket" || lower(head->field("connection")).find("upgrade") == std::string::npos)
    throw std::runtime_error("raw_ws: 101 without Upgrade: websocket / Connection: upgrade");
  if (head->field("sec-websocket-accept") != sample_accept)
    throw std::runtime_error("raw_ws: wrong Sec-WebSocket-Accept '" + head->field("sec-websocket-accept") + "'");
  handshake_ = *head;
}

void raw_ws::write_raw(std::string_view bytes, std::chrono::milliseconds timeout) {
  auto const ec = run(ioc_, stream_, steady::now() + timeout, [&](auto h) {
    asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()),
                      [h](boost::system::error_code e, std::size_t) mutable { h(e); });
  });
  if (ec) throw std::runtime_error("raw_ws: write failed: " + ec.message());
}

void raw_ws::send_all(std::vector<out_frame> const& frames, std::chrono::milliseconds timeout) {
  std::string bytes;
  for (auto const& f : frames) bytes += encode_frame(f);
  write_raw(bytes, timeout);
}

boost::system::error_code raw_ws::read_more(steady::time_point deadline) {
  std::array<char, 16 * 1024> chunk;
  std::size_t got = 0;
  auto ec = run(ioc_, stream_, deadline, [&](auto h) {
    stream_.async_read_some(asio::buffer(chunk), [h, &got](boost::system::error_code e, std::size_t n) mutable {
      got = n;
      h(e);
    });
  });
  buffer_.append(chunk.data(), got);
  if (got > 0) return {};
  if (ec == beast::error::timeout) return asio::error::timed_out;
  return ec;
}

std::optional<http_head> raw_ws::read_http(std::chrono::milliseconds timeout) {
  auto const deadline = steady::now() + timeout;
  std::size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (read_more(deadline)) return std::nullopt;
  }
  std::string const head_text = buffer_.substr(0, end + 2);
  buffer_.erase(0, end + 4);

  http_head head;
  auto line_end = head_text.find("\r\n");
  std::string const status_line = head_text.substr(0, line_end);
  // "HTTP/1.1 101 Switching Protocols"
  if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) return std::nullopt;
  if (!parse_number(std::string_view(status_line).substr(9, 3), head.status)) return std::nullopt;
  head.reason = status_line.size() > 13 ? status_line.substr(13) : std::string{};
  for (auto pos = line_end + 2; pos < head_text.size();) {
    auto const next = head_text.find("\r\n", pos);
    auto const line = std::string_view(head_text).substr(pos, next - pos);
    pos = next + 2;
    auto const colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    head.fields[lower(std::string(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  if (auto const length = head.field("content-length"); !length.empty()) {
    std::size_t n = 0;
    if (!parse_number(length, n)) return std::nullopt;
    while (buffer_.size() < n) {
      if (read_more(deadline)) break;
    }
    head.body = buffer_.substr(0, std::min<std::size_t>(n, buffer_.size()));
    buffer_.erase(0, head.body.size());
  }
  return head;
}

raw_ws::read_result raw_ws::read_frame(std::chrono::milliseconds timeout) {
  auto const deadline = steady::now() + timeout;
  read_result result;
  // Makes sure `n` bytes are buffered; false (with the reason in `result`) when they cannot be.
  auto const need = [&](std::size_t n) {
    while (buffer_.size() < n) {
      auto const ec = read_more(deadline);
      if (!ec) continue;
      result.ec = ec;
      result.status = ec == asio::error::timed_out ? read_status::timeout : read_status::closed;
      result.partial = buffer_.size();
      return false;
    }
    return true;
  };
  auto const byte = [&](std::size_t i) { return static_cast<unsigned char>(buffer_[i]); };

  if (!need(2)) return result;
  auto& f = result.frame;
  f.fin = (byte(0) & 0x80) != 0;
  f.rsv1 = (byte(0) & 0x40) != 0;
  f.rsv2 = (byte(0) & 0x20) != 0;
  f.rsv3 = (byte(0) & 0x10) != 0;
  f.opcode = byte(0) & 0x0f;
  f.masked = (byte(1) & 0x80) != 0;
  std::uint64_t length = byte(1) & 0x7f;
  std::size_t header = 2;
  if (length == 126) {
    if (!need(4)) return result;
    length = (std::uint64_t{byte(2)} << 8) | byte(3);
    header = 4;
  } else if (length == 127) {
    if (!need(10)) return result;
    length = 0;
    for (std::size_t i = 2; i < 10; ++i) length = (length << 8) | byte(i);
    header = 10;
  }
  std::array<unsigned char, 4> key{};
  if (f.masked) {
    if (!need(header + 4)) return result;
    for (std::size_t i = 0; i < 4; ++i) key[i] = byte(header + i);
    header += 4;
  }
  if (length > (64U << 20)) throw std::runtime_error("raw_ws: server frame of " + std::to_string(length) + " bytes");
  if (!need(header + length)) return result;
  f.payload = buffer_.substr(header, length);
  if (f.masked)
    for (std::size_t i = 0; i < f.payload.size(); ++i) f.payload[i] = static_cast<char>(f.payload[i] ^ key[i % 4]);
  buffer_.erase(0, header + length);
  result.status = read_status::frame;
  return result;
}

bool raw_ws::wait_tcp_close(std::chrono::milliseconds timeout, std::string* extra) {
  auto const deadline = steady::now() + timeout;
  boost::system::error_code ec;
  while (!(ec = read_more(deadline))) {
  }
  bool const clean = buffer_.empty();
  if (extra) *extra = buffer_;
  buffer_.clear();
  return ec != asio::error::timed_out && clean;
}

void raw_ws::close_tcp() {
  boost::system::error_code ignored;
  stream_.socket().close(ignored);
}

void raw_ws::reset_tcp() {
  boost::system::error_code ignored;
  stream_.socket().set_option(boost::asio::socket_base::linger(true, 0), ignored);
  stream_.socket().close(ignored);
}

} // namespace crier::test
