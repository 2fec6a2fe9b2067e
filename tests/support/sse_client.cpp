#include "tests/support/sse_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/json/parse.hpp>

#include <stdexcept>

namespace crier::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

boost::json::object sse_event::json() const { return boost::json::parse(data).as_object(); }

namespace {

// Runs the io_context until `done` or the deadline; returns false on the deadline (the operation
// is cancelled and run to its end).
template <class Done>
bool run_until(asio::io_context& ioc, tcp::socket& socket, Done const& done, clock_type::time_point deadline) {
  ioc.restart();
  while (!done()) {
    if (ioc.run_one_until(deadline) == 0) {
      boost::system::error_code ignored;
      socket.cancel(ignored);
      ioc.restart();
      ioc.run();
      return false;
    }
  }
  return true;
}

} // namespace

sse_client::sse_client(std::uint16_t port, std::string const& target, headers const& extra,
                       std::chrono::milliseconds timeout, int receive_buffer, std::string const& version) {
  auto const deadline = clock_type::now() + timeout;
  socket_.open(tcp::v4());
  if (receive_buffer > 0) socket_.set_option(asio::socket_base::receive_buffer_size(receive_buffer));
  socket_.connect(tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
  std::string request = "GET " + target + " " + version + "\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
  for (auto const& [name, value] : extra) request += name + ": " + value + "\r\n";
  request += "\r\n";
  asio::write(socket_, asio::buffer(request));

  parser_.body_limit(boost::none);
  bool done = false;
  boost::system::error_code ec;
  http::async_read_header(socket_, buffer_, parser_, [&](boost::system::error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  if (!run_until(ioc_, socket_, [&] { return done; }, deadline) || ec)
    throw std::runtime_error("sse: no response head: " + ec.message());
  status_ = parser_.get().result_int();
  if (status_ != 200) {
    // A refusal: read its (short) body whole.
    while (!parser_.is_done() && read_more(deadline)) {
    }
    refusal_ = std::move(pending_);
    pending_.clear();
    ended_ = true;
  }
}

std::string sse_client::header(std::string const& name) const { return std::string(parser_.get()[name]); }

bool sse_client::read_more(clock_type::time_point deadline) {
  if (ended_) return false;
  if (parser_.is_done()) {
    finished();
    return false;
  }
  char chunk[4096];
  parser_.get().body().data = chunk;
  parser_.get().body().size = sizeof chunk;
  bool done = false;
  boost::system::error_code ec;
  http::async_read_some(socket_, buffer_, parser_, [&](boost::system::error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  if (!run_until(ioc_, socket_, [&] { return done; }, deadline)) {
    timed_out_ = true;
    return false;
  }
  pending_.append(chunk, sizeof chunk - parser_.get().body().size);
  if (ec == http::error::need_buffer) ec = {};
  if (ec || parser_.is_done()) {
    finished();
    return !pending_.empty();
  }
  return true;
}

void sse_client::parse() {
  // Lines end in CRLF, LF or CR; only whole lines are taken.
  for (;;) {
    auto const eol = pending_.find_first_of("\r\n");
    if (eol == std::string::npos) return;
    if (pending_[eol] == '\r' && eol + 1 == pending_.size()) return; // a CR that may start a CRLF
    std::string line = pending_.substr(0, eol);
    pending_.erase(0, eol + (pending_.compare(eol, 2, "\r\n") == 0 ? 2 : 1));
    if (line.empty()) {
      if (has_data_) events_.push_back(std::move(building_));
      building_ = {};
      has_data_ = false;
      continue;
    }
    if (line.front() == ':') {
      ++comments_;
      continue;
    }
    auto const colon = line.find(':');
    std::string field = line.substr(0, colon);
    std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.erase(0, 1);
    if (field == "event") {
      building_.type = value;
    } else if (field == "data") {
      if (has_data_) building_.data += '\n';
      building_.data += value;
      has_data_ = true;
    } else if (field == "id") {
      building_.id = value;
    } else if (field == "retry") {
      retry_ = std::stoull(value);
    }
  }
}

std::optional<sse_event> sse_client::next(std::chrono::milliseconds timeout) {
  auto const deadline = clock_type::now() + timeout;
  timed_out_ = false;
  for (;;) {
    parse();
    if (!events_.empty()) {
      auto e = std::move(events_.front());
      events_.pop_front();
      return e;
    }
    if (!read_more(deadline)) {
      parse();
      if (!events_.empty()) continue;
      return std::nullopt;
    }
  }
}

sse_event sse_client::next_of(std::string const& type, std::chrono::milliseconds timeout) {
  auto const deadline = clock_type::now() + timeout;
  for (;;) {
    auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    auto e = next(std::max(left, std::chrono::milliseconds(1)));
    if (!e) throw std::runtime_error("sse: no " + type + " event (" + (timed_out_ ? "timed out" : "stream ended") + ")");
    if (e->type == type) return std::move(*e);
  }
}

bool sse_client::wait_comment(std::chrono::milliseconds timeout) {
  auto const deadline = clock_type::now() + timeout;
  auto const seen = comments_;
  while (comments_ == seen) {
    parse();
    if (comments_ != seen) break;
    if (!read_more(deadline)) {
      parse();
      return comments_ != seen;
    }
  }
  return true;
}

void sse_client::finished() {
  boost::system::error_code ignored;
  socket_.close(ignored);
  ended_ = true;
}

void sse_client::close() {
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  ended_ = true;
}

} // namespace crier::test
