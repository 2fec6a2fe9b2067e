#include "server/listener.hpp"

#include "server/http/http_connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include "server/logging.hpp"
#include "server/net.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sstream>
#include <unistd.h>
#include <system_error>

namespace crier {

using tcp = asio::ip::tcp;

namespace {

[[noreturn]] void fail(boost::system::error_code ec, std::string const& what, tcp::endpoint const& ep) {
  std::ostringstream where;
  where << ep;
  throw std::system_error(ec, "cannot " + what + " " + where.str());
}
} // namespace

listener::listener(asio::io_context& ioc, std::vector<asio::io_context*> workers, server_state& state)
  : workers_(std::move(workers)), strand_(asio::make_strand(ioc)), acceptor_(strand_), backoff_(strand_), state_(state) {
  auto const& cfg = state.cfg();
  tcp::endpoint const endpoint{asio::ip::make_address(cfg.address), cfg.port};
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) fail(ec, "open a socket for", endpoint);
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) fail(ec, "set SO_REUSEADDR on", endpoint);
  acceptor_.bind(endpoint, ec);
  if (ec) fail(ec, "bind", endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) fail(ec, "listen on", endpoint);
}

tcp::endpoint listener::local_endpoint() const { return acceptor_.local_endpoint(); }

void listener::start() { asio::co_spawn(strand_, accept_loop(), asio::detached); }

void listener::stop() {
  asio::post(strand_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    backoff_.cancel();
  });
}

asio::awaitable<void> listener::accept_loop() {
  bool out_of_descriptors = false;
  // A descriptor held in reserve: when the process runs out, giving it back lets the failure be
  // logged (and lets sanitizers, which need one to inspect memory, work) before anything else.
  int reserve = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  while (acceptor_.is_open()) {
    // Each connection goes to the next thread's io_context and stays on that thread, where its
    // state stays in that core's cache. Each io_context is run by exactly one thread, so a
    // connection's reader, writer and timers never race, and it needs no strand (which would
    // cost memory per connection and a second queueing of every handler).
    auto& worker = *workers_[next_worker_];
    next_worker_ = (next_worker_ + 1) % workers_.size();
    auto [ec, socket] = co_await acceptor_.async_accept(worker.get_executor(), nothrow);
    // Checked by value first, without touching the error category, since out of descriptors
    // even that may fail under a sanitizer. accept() only reports system errors.
    int const errnum = ec ? ec.value() : 0;
    if (errnum == EMFILE || errnum == ENFILE || errnum == ENOBUFS || errnum == ENOMEM) {
      if (reserve >= 0) {
        ::close(reserve);
        reserve = -1;
      }
      // Accepting again at once would spin: the condition lasts until connections close.
      state_.metrics().accept_error();
      if (!out_of_descriptors) log_error("accept failed: backing off until connections close", {{"error", ec.message()}});
      out_of_descriptors = true;
      backoff_.expires_after(std::chrono::milliseconds(100));
      co_await backoff_.async_wait(nothrow);
      continue;
    }
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
    if (ec) {
      state_.metrics().accept_error();
      log_warn("accept failed", {{"error", ec.message()}});
      continue;
    }
    if (out_of_descriptors) log_info("accepting connections again");
    out_of_descriptors = false;
    if (reserve < 0) reserve = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored); // chat messages are small: do not let Nagle hold them
    start_http_connection(std::move(socket), state_);
  }
  if (reserve >= 0) ::close(reserve);
}

} // namespace crier
