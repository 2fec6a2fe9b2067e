#pragma once
// What a permessage-deflate peer does to one message (RFC 7692 section 7.2), with Beast's zlib:
// compress it alone (raw DEFLATE, sync flush, the trailing 00 00 ff ff removed) and inflate one
// (the 00 00 ff ff appended back), alone or, as a client that lets the server keep its context
// does, with the window of the messages before it. Tests use it to build a client's compressed
// frames and to read the server's, independently of the server's own compressor.

#include <boost/beast/zlib/deflate_stream.hpp>
#include <boost/beast/zlib/inflate_stream.hpp>
#include <gtest/gtest.h>

#include <cstddef>
#include <optional>
#include <string>

namespace crier::test {

inline std::string deflate_alone(std::string const& plain, int window_bits = 15) {
  namespace zlib = boost::beast::zlib;
  zlib::deflate_stream out;
  out.reset(6, window_bits, 8, zlib::Strategy::normal);
  std::string buf(out.upper_bound(plain.size()) + 64, '\0');
  zlib::z_params zs;
  zs.next_in = plain.data();
  zs.avail_in = plain.size();
  zs.next_out = buf.data();
  zs.avail_out = buf.size();
  boost::system::error_code ec;
  out.write(zs, zlib::Flush::sync, ec);
  EXPECT_TRUE(!ec || ec == zlib::error::need_buffers) << ec.message();
  buf.resize(zs.total_out - 4);
  return buf;
}

// A client's inflater that keeps its window from one message to the next (no
// server_no_context_takeover): what a message compressed in a room's stream needs.
class context_inflater {
public:
  explicit context_inflater(int window_bits = 15) { in_.reset(window_bits); }

  // The message, or nullopt with the error when it does not inflate (the client would fail the
  // connection with 1007).
  std::optional<std::string> inflate(std::string const& compressed, std::string* error = nullptr) {
    namespace zlib = boost::beast::zlib;
    std::string const input = compressed + std::string("\x00\x00\xff\xff", 4);
    std::string out(1 << 20, '\0');
    zlib::z_params zs;
    zs.next_in = input.data();
    zs.avail_in = input.size();
    zs.next_out = out.data();
    zs.avail_out = out.size();
    boost::system::error_code ec;
    in_.write(zs, zlib::Flush::sync, ec);
    if ((ec && ec != zlib::error::need_buffers) || zs.avail_in != 0) {
      if (error) *error = ec ? ec.message() : "input left over";
      return std::nullopt;
    }
    out.resize(zs.total_out);
    return out;
  }

private:
  boost::beast::zlib::inflate_stream in_;
};

// Chat messages that differ but share their words, as a room's do: message i, {"id":"<10000+i>",...}.
// What the compression-stream tests send: each compresses far better with the ones before it.
inline std::string chat_line(std::size_t i) {
  static char const* const words[] = {"the ", "meeting ", "is ", "moved ", "to ", "after ", "lunch ", "today ",
                                      "can ", "you ", "review ", "my ", "branch ", "before ", "release "};
  std::string s = R"({"id":")" + std::to_string(10000 + i) + R"(","user":"alice","text":")";
  for (std::size_t k = 0; k < 25 + i % 20; ++k) s += words[(i * 7 + k * 3 + k / 4) % 15];
  return s + "\"}";
}

// One message inflated on its own, as by a client that keeps no window between messages.
inline std::string inflate_message(std::string const& compressed, int window_bits = 15) {
  context_inflater in(window_bits);
  std::string error;
  auto out = in.inflate(compressed, &error);
  EXPECT_TRUE(out) << error;
  return out.value_or(std::string{});
}

} // namespace crier::test
