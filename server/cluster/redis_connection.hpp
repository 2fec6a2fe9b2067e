#pragma once
// One hiredis asynchronous connection, driven by Asio: hiredis's read and write interest becomes
// async_wait on a posix::stream_descriptor for its socket, and command timeouts (hiredis 0.14 has
// no timer hooks) are steady_timers. Everything happens on the executor given at creation, which
// must be a strand (or a single-threaded context): the class is not thread-safe.
//
// A connection is either a command connection or, once subscribe() is called, a pub/sub one:
// Redis allows only (UN)SUBSCRIBE and PING on a subscribed connection, so a broker uses two.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

struct redisAsyncContext;

namespace crier {

struct redis_reply {
  enum class kind { nil, status, error, integer, string, array };
  kind type = kind::nil;
  std::string str; // status, error and string replies
  long long integer = 0;
  std::vector<redis_reply> elements;
};

// Errors a redis_connection reports.
enum class redis_error {
  not_connected = 1, // no connection (never made, or lost)
  timeout,           // no reply within the command's timeout
  disconnected,      // the connection was lost before the reply came
  connect_failed,    // the TCP connection or the handshake failed
};
boost::system::error_code make_error_code(redis_error e);

class redis_connection : public std::enable_shared_from_this<redis_connection> {
public:
  using done_handler = std::function<void(boost::system::error_code)>;
  using reply_handler = std::function<void(boost::system::error_code, redis_reply)>;
  using message_handler = std::function<void(std::string const& channel, std::string const& payload)>;
  using disconnect_handler = std::function<void(std::string const& reason)>;

  static std::shared_ptr<redis_connection> create(boost::asio::any_io_executor strand) {
    return std::shared_ptr<redis_connection>(new redis_connection(std::move(strand)));
  }
  ~redis_connection();
  redis_connection(redis_connection const&) = delete;
  redis_connection& operator=(redis_connection const&) = delete;

  // Connects to host:port (an IP address); `done` gets success or connect_failed.
  void connect(std::string const& host, std::uint16_t port, std::chrono::milliseconds timeout, done_handler done);

  // Sends one command; `h` gets the reply, a Redis error reply (kind::error, no error_code), or
  // an error_code: timeout, disconnected, not_connected. It is called exactly once.
  void command(std::vector<std::string> const& args, std::chrono::milliseconds timeout, reply_handler h);

  // Subscribes to `channel`; `on_message` gets every message published to it until unsubscribe()
  // or the connection ends. `done` gets the subscription's confirmation or an error.
  void subscribe(std::string const& channel, message_handler on_message, done_handler done);
  // `done`, when given, hears when Redis confirmed (or the connection ended first). Subscribing
  // to the channel again must wait for it: hiredis keeps one callback per channel.
  void unsubscribe(std::string const& channel, done_handler done = {});

  // Called once when an established connection is lost (not after close()).
  void on_disconnect(disconnect_handler h) { on_disconnect_ = std::move(h); }
  // Called once, when set, the first time a command's reply does not come within its timeout: a
  // Redis that is frozen (SIGSTOP) or a link that blackholes keeps the TCP connection open, and
  // this is how the owner hears of it. The command itself still gets `timeout`. Never called from
  // inside a hiredis callback, so the handler may abort() the connection.
  void on_stall(disconnect_handler h) { on_stall_ = std::move(h); }

  // Closes the connection once what is queued is sent and every pending reply is in; pending
  // commands get their replies (or `disconnected` if the connection ends first).
  void close();
  // Drops the connection now, sending nothing more: every pending command gets `disconnected`
  // before this returns. For a Redis that stopped answering, where close() would wait forever
  // and would still send what hiredis buffered. Must not be called from inside a hiredis callback.
  void abort();

  bool connected() const noexcept { return ac_ != nullptr && connected_; }
  // Commands and subscriptions whose callbacks hiredis still holds (for leak checks).
  std::size_t pending() const noexcept { return pending_; }

private:
  explicit redis_connection(boost::asio::any_io_executor strand);

  struct command_state;
  struct subscription_state;

  static void on_connect(redisAsyncContext const* ac, int status);
  static void on_disconnected(redisAsyncContext const* ac, int status);
  static void on_reply(redisAsyncContext* ac, void* reply, void* privdata);
  static void on_subscription(redisAsyncContext* ac, void* reply, void* privdata);
  static void add_read(void* self);
  static void del_read(void* self);
  static void add_write(void* self);
  static void del_write(void* self);
  static void cleanup(void* self);

  void wait_read();
  void wait_write();
  void finish_connect(boost::system::error_code ec);

  boost::asio::any_io_executor strand_;
  boost::asio::posix::stream_descriptor socket_;
  boost::asio::steady_timer connect_timer_;
  redisAsyncContext* ac_ = nullptr;
  done_handler connect_done_;
  disconnect_handler on_disconnect_;
  disconnect_handler on_stall_;
  std::unordered_map<std::string, subscription_state*> subscriptions_;
  std::size_t pending_ = 0;
  bool connected_ = false;
  bool reading_ = false, read_waiting_ = false;
  bool writing_ = false, write_waiting_ = false;
  bool closing_ = false;
};

} // namespace crier

template <>
struct boost::system::is_error_code_enum<crier::redis_error> : std::true_type {};
