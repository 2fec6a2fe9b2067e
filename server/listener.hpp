#pragma once
// The listening socket and its accept loop. Binding happens in the constructor so that a server
// that cannot listen never starts at all.

#include "server/server_state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <vector>

namespace crier {

class listener {
public:
  // Throws std::system_error naming the address when it cannot bind or listen. The accept loop
  // runs on `ioc`; accepted connections go to the `workers` in turn (one io_context per thread),
  // so that a connection's handlers always run on the same thread.
  listener(boost::asio::io_context& ioc, std::vector<boost::asio::io_context*> workers, server_state& state);

  boost::asio::ip::tcp::endpoint local_endpoint() const;

  void start();
  // Stops accepting; thread-safe.
  void stop();

private:
  boost::asio::awaitable<void> accept_loop();

  std::vector<boost::asio::io_context*> const workers_;
  std::size_t next_worker_ = 0;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;
  server_state& state_;
};

} // namespace crier
