#pragma once
// A Server-Sent Events client over a real loopback socket, written from the SSE specification
// (not from the server's code): it sends one GET, checks the response, and parses the stream
// into events, comments and retry fields, every read bounded by a timeout.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace crier::test {

using namespace std::chrono_literals;

struct sse_event {
  std::string type = "message"; // the `event:` field, "message" when there is none
  std::optional<std::string> id; // the `id:` field of this event, when it had one
  std::string data;
  boost::json::object json() const; // `data` parsed
};

class sse_client {
public:
  using headers = std::vector<std::pair<std::string, std::string>>;
  // Connects and reads the response head. `receive_buffer` > 0 sets SO_RCVBUF first (a small one
  // makes a client that stops reading stall the server's writes sooner).
  sse_client(std::uint16_t port, std::string const& target, headers const& extra = {},
             std::chrono::milliseconds timeout = 5s, int receive_buffer = 0, std::string const& version = "HTTP/1.1");

  unsigned status() const { return status_; }
  std::string header(std::string const& name) const;
  // The body of a refusal (a response that is not a stream), read whole.
  std::string const& refusal_body() const { return refusal_; }

  // The next event; nullopt when the stream ended (or the timeout passed: see timed_out()).
  std::optional<sse_event> next(std::chrono::milliseconds timeout = 5s);
  // Skips events until one of `type`; throws when none comes.
  sse_event next_of(std::string const& type, std::chrono::milliseconds timeout = 5s);
  bool timed_out() const { return timed_out_; }
  bool ended() const { return ended_; }
  // What the stream said besides events.
  std::size_t comments() const { return comments_; }
  std::optional<std::uint64_t> retry() const { return retry_; }
  // Waits for the next comment line; false on timeout or end.
  bool wait_comment(std::chrono::milliseconds timeout);
  void close();

private:
  // Reads more of the body into pending_; false at the end or on timeout.
  bool read_more(std::chrono::steady_clock::time_point deadline);
  // The response is whole (its last chunk came): a client closes its end, as curl and browsers do.
  void finished();
  // Parses what pending_ holds into events_ (complete lines only).
  void parse();

  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_{ioc_};
  boost::beast::flat_buffer buffer_;
  boost::beast::http::response_parser<boost::beast::http::buffer_body> parser_;
  unsigned status_ = 0;
  std::string refusal_;
  std::string pending_; // body bytes not yet parsed into lines
  sse_event building_;
  bool has_data_ = false;
  std::deque<sse_event> events_;
  std::size_t comments_ = 0;
  std::optional<std::uint64_t> retry_;
  bool ended_ = false;
  bool timed_out_ = false;
};

} // namespace crier::test
