#pragma once
// The server as a whole: one io_context per thread, the listener, and the shutdown drain that
// SIGINT or SIGTERM starts. The first io_context, run by the main thread, also runs the
// listener, the signals and the timers of the server itself.

#include "server/cluster/broker.hpp"
#include "server/events/webhook_sender.hpp"
#include "server/listener.hpp"
#include "server/server_state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <memory>
#include <vector>

namespace crier {

class server {
public:
  // Loads TLS material and binds the listening socket; throws when either fails.
  explicit server(config cfg);

  // Runs until drained after a signal. Returns the process exit status.
  int run();

private:
  boost::asio::awaitable<void> handle_signals();
  boost::asio::awaitable<void> drain(int signal);
  boost::asio::awaitable<void> sweep_rooms();
  void stop_all();

  // Declared first so it outlives the io_context, whose destruction may end sessions.
  server_state state_;
  // The io_contexts of the other threads (--threads minus one), each run by one thread. Declared
  // before ioc_ so they outlive it: the listener's pending accept on ioc_ holds a socket bound to
  // a worker's strand, and is destroyed with ioc_.
  std::vector<std::unique_ptr<boost::asio::io_context>> workers_;
  boost::asio::io_context ioc_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer drain_timer_;
  boost::asio::steady_timer sweep_timer_;
  listener listener_;
  // --redis only. After the io_context: destroyed first, once no session can call it.
  std::shared_ptr<broker> broker_;
  // --webhook-url only; likewise.
  std::shared_ptr<webhook_sender> webhooks_;
};

} // namespace crier
