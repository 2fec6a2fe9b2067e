#include "server/cluster/redis_connection.hpp"

#include <boost/asio/post.hpp>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <utility>

namespace crier {

namespace {

// boost::system::error_category's destructor is protected and non-virtual by design (categories
// are never deleted through a base pointer), which -Wnon-virtual-dtor cannot tell.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class redis_category_impl final : public boost::system::error_category {
public:
  char const* name() const noexcept override { return "crier.redis"; }
  std::string message(int ev) const override {
    switch (static_cast<redis_error>(ev)) {
    case redis_error::not_connected: return "not connected to Redis";
    case redis_error::timeout: return "Redis command timed out";
    case redis_error::disconnected: return "Redis connection lost";
    case redis_error::connect_failed: return "cannot connect to Redis";
    }
    return "unknown Redis error";
  }
};
#pragma GCC diagnostic pop

redis_reply convert(redisReply const* r) {
  redis_reply out;
  if (r == nullptr) return out;
  switch (r->type) {
  case REDIS_REPLY_STATUS: out.type = redis_reply::kind::status; break;
  case REDIS_REPLY_ERROR: out.type = redis_reply::kind::error; break;
  case REDIS_REPLY_INTEGER: out.type = redis_reply::kind::integer; break;
  case REDIS_REPLY_STRING: out.type = redis_reply::kind::string; break;
  case REDIS_REPLY_ARRAY: out.type = redis_reply::kind::array; break;
  default: out.type = redis_reply::kind::nil; break;
  }
  if (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_STRING)
    out.str.assign(r->str, r->len);
  out.integer = r->integer;
  for (std::size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
  return out;
}

redis_connection* self_of(redisAsyncContext const* ac) { return static_cast<redis_connection*>(ac->data); }

} // namespace

boost::system::error_code make_error_code(redis_error e) {
  static redis_category_impl const category;
  return {static_cast<int>(e), category};
}

// What hiredis holds for one command: the handler and its timeout. Shared with the timer's
// handler, so whichever of the reply and the timeout comes second finds it still alive.
struct redis_connection::command_state {
  reply_handler handler;
  boost::asio::steady_timer timer;
  bool done = false;
  redis_connection* owner;

  command_state(reply_handler h, boost::asio::any_io_executor ex, redis_connection* o)
    : handler(std::move(h)), timer(std::move(ex)), owner(o) {}
  void complete(boost::system::error_code ec, redis_reply reply) {
    if (done) return;
    done = true;
    timer.cancel();
    auto h = std::move(handler);
    h(ec, std::move(reply));
  }
};

struct redis_connection::subscription_state {
  message_handler on_message;
  done_handler on_done;
  redis_connection* owner;
  std::string channel;
  done_handler on_unsubscribed;
};

redis_connection::redis_connection(boost::asio::any_io_executor strand)
  : strand_(strand), socket_(strand), connect_timer_(strand) {}

redis_connection::~redis_connection() {
  closing_ = true;
  if (ac_ != nullptr) redisAsyncFree(ac_); // pending callbacks run with no reply, then cleanup()
}

void redis_connection::connect(std::string const& host, std::uint16_t port, std::chrono::milliseconds timeout,
                               done_handler done) {
  connect_done_ = std::move(done);
  ac_ = redisAsyncConnect(host.c_str(), port);
  if (ac_ == nullptr || ac_->err != 0) {
    if (ac_ != nullptr) {
      redisAsyncFree(ac_);
      ac_ = nullptr;
    }
    boost::asio::post(strand_, [self = shared_from_this()] { self->finish_connect(redis_error::connect_failed); });
    return;
  }
  ac_->data = this;
  boost::system::error_code ec;
  socket_.assign(ac_->c.fd, ec);
  ac_->ev.data = this;
  ac_->ev.addRead = add_read;
  ac_->ev.delRead = del_read;
  ac_->ev.addWrite = add_write;
  ac_->ev.delWrite = del_write;
  ac_->ev.cleanup = cleanup;
  redisAsyncSetConnectCallback(ac_, on_connect); // asks for writability, which means "connected"
  redisAsyncSetDisconnectCallback(ac_, on_disconnected);
  connect_timer_.expires_after(timeout);
  connect_timer_.async_wait([self = shared_from_this()](boost::system::error_code tec) {
    if (tec || self->connected_ || self->ac_ == nullptr) return;
    auto* ac = self->ac_;
    redisAsyncFree(ac); // gives up on the connection attempt
    self->finish_connect(redis_error::connect_failed);
  });
}

void redis_connection::finish_connect(boost::system::error_code ec) {
  connect_timer_.cancel();
  if (auto done = std::move(connect_done_)) done(ec);
}

void redis_connection::on_connect(redisAsyncContext const* ac, int status) {
  auto* self = self_of(ac);
  if (status != REDIS_OK) {
    self->finish_connect(redis_error::connect_failed); // hiredis frees the context after this
    return;
  }
  self->connected_ = true;
  self->finish_connect({});
}

void redis_connection::on_disconnected(redisAsyncContext const* ac, int status) {
  auto* self = self_of(ac);
  bool const was_connected = self->connected_;
  self->connected_ = false;
  if (was_connected && status != REDIS_OK && !self->closing_ && self->on_disconnect_) {
    std::string const reason = ac->errstr != nullptr && ac->errstr[0] != '\0' ? ac->errstr : "connection lost";
    self->on_disconnect_(reason);
  }
}

void redis_connection::command(std::vector<std::string> const& args, std::chrono::milliseconds timeout,
                               reply_handler h) {
  if (!connected()) {
    boost::asio::post(strand_, [h = std::move(h)] { h(redis_error::not_connected, {}); });
    return;
  }
  auto state = std::make_shared<command_state>(std::move(h), strand_, this);
  std::vector<char const*> argv;
  std::vector<std::size_t> lens;
  for (auto const& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* holder = new std::shared_ptr<command_state>(state);
  if (redisAsyncCommandArgv(ac_, on_reply, holder, static_cast<int>(argv.size()), argv.data(), lens.data()) != REDIS_OK) {
    delete holder;
    boost::asio::post(strand_, [state] { state->complete(redis_error::not_connected, {}); });
    return;
  }
  ++pending_;
  state->timer.expires_after(timeout);
  state->timer.async_wait([state, weak = weak_from_this(), timeout](boost::system::error_code ec) {
    // The reply may still come; hiredis keeps the holder until then and it is ignored.
    if (ec || state->done) return;
    state->complete(redis_error::timeout, {});
    auto self = weak.lock();
    if (!self || self->closing_ || !self->on_stall_) return;
    auto stalled = std::exchange(self->on_stall_, {});
    stalled("no reply from Redis within " + std::to_string(timeout.count()) + " ms");
  });
}

void redis_connection::on_reply(redisAsyncContext* ac, void* reply, void* privdata) {
  std::unique_ptr<std::shared_ptr<command_state>> holder(static_cast<std::shared_ptr<command_state>*>(privdata));
  auto* self = self_of(ac);
  --self->pending_;
  auto& state = *holder;
  if (reply == nullptr) state->complete(redis_error::disconnected, {});
  else state->complete({}, convert(static_cast<redisReply*>(reply)));
}

void redis_connection::subscribe(std::string const& channel, message_handler on_message, done_handler done) {
  if (!connected()) {
    boost::asio::post(strand_, [done = std::move(done)] { done(redis_error::not_connected); });
    return;
  }
  auto* state = new subscription_state{std::move(on_message), std::move(done), this, channel, {}};
  char const* argv[] = {"SUBSCRIBE", channel.data()};
  std::size_t const lens[] = {9, channel.size()};
  if (redisAsyncCommandArgv(ac_, on_subscription, state, 2, argv, lens) != REDIS_OK) {
    auto d = std::move(state->on_done);
    delete state;
    boost::asio::post(strand_, [d = std::move(d)] { d(redis_error::not_connected); });
    return;
  }
  ++pending_;
  subscriptions_[channel] = state;
}

void redis_connection::unsubscribe(std::string const& channel, done_handler done) {
  auto it = subscriptions_.find(channel);
  if (!connected() || it == subscriptions_.end()) {
    if (done) boost::asio::post(strand_, [done = std::move(done)] { done(redis_error::not_connected); });
    return;
  }
  it->second->on_unsubscribed = std::move(done);
  char const* argv[] = {"UNSUBSCRIBE", channel.data()};
  std::size_t const lens[] = {11, channel.size()};
  // The confirmation goes to the channel's own callback, which then lets go of its state.
  redisAsyncCommandArgv(ac_, nullptr, nullptr, 2, argv, lens);
}

void redis_connection::on_subscription(redisAsyncContext* ac, void* reply, void* privdata) {
  auto* state = static_cast<subscription_state*>(privdata);
  auto* self = self_of(ac);
  auto const* r = static_cast<redisReply*>(reply);
  auto const finished = [&] {
    --self->pending_;
    if (auto it = self->subscriptions_.find(state->channel); it != self->subscriptions_.end() && it->second == state)
      self->subscriptions_.erase(it);
    auto unsubscribed = std::move(state->on_unsubscribed);
    delete state;
    return unsubscribed;
  };
  if (r == nullptr) { // the connection ended
    if (state->on_done) std::exchange(state->on_done, {})(redis_error::disconnected);
    if (auto unsubscribed = finished()) unsubscribed(redis_error::disconnected);
    return;
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 || r->element[0]->type != REDIS_REPLY_STRING) return;
  std::string_view const kind(r->element[0]->str, r->element[0]->len);
  if (kind == "subscribe") {
    if (state->on_done) std::exchange(state->on_done, {})({});
  } else if (kind == "message" && r->element[1]->type == REDIS_REPLY_STRING && r->element[2]->type == REDIS_REPLY_STRING) {
    state->on_message(std::string(r->element[1]->str, r->element[1]->len), std::string(r->element[2]->str, r->element[2]->len));
  } else if (kind == "unsubscribe") {
    if (auto unsubscribed = finished()) unsubscribed({}); // hiredis has dropped this callback
  }
}

void redis_connection::close() {
  if (ac_ == nullptr) return;
  closing_ = true;
  redisAsyncDisconnect(ac_); // pending replies still arrive; then hiredis frees the context
}

void redis_connection::abort() {
  if (ac_ == nullptr) return;
  closing_ = true;
  on_stall_ = {};
  auto* ac = ac_;
  redisAsyncFree(ac); // pending callbacks run now with no reply (disconnected), then cleanup()
}

// hiredis's event hooks: each call says what it wants to hear about next.
void redis_connection::add_read(void* p) {
  auto* self = static_cast<redis_connection*>(p);
  self->reading_ = true;
  self->wait_read();
}
void redis_connection::del_read(void* p) { static_cast<redis_connection*>(p)->reading_ = false; }
void redis_connection::add_write(void* p) {
  auto* self = static_cast<redis_connection*>(p);
  self->writing_ = true;
  self->wait_write();
}
void redis_connection::del_write(void* p) { static_cast<redis_connection*>(p)->writing_ = false; }
void redis_connection::cleanup(void* p) {
  auto* self = static_cast<redis_connection*>(p);
  // hiredis closes the socket itself; give it back without closing it.
  if (self->socket_.is_open()) self->socket_.release();
  self->ac_ = nullptr; // connected_ stays: hiredis calls on_disconnected after this, and it reads it
  self->reading_ = self->writing_ = false;
}

void redis_connection::wait_read() {
  if (read_waiting_ || ac_ == nullptr) return;
  read_waiting_ = true;
  socket_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                     [self = shared_from_this()](boost::system::error_code ec) {
                       self->read_waiting_ = false;
                       if (ec || self->ac_ == nullptr || !self->reading_) return;
                       redisAsyncHandleRead(self->ac_); // may end the connection (ac_ becomes null)
                       if (self->ac_ != nullptr && self->reading_) self->wait_read();
                     });
}

void redis_connection::wait_write() {
  if (write_waiting_ || ac_ == nullptr) return;
  write_waiting_ = true;
  socket_.async_wait(boost::asio::posix::stream_descriptor::wait_write,
                     [self = shared_from_this()](boost::system::error_code ec) {
                       self->write_waiting_ = false;
                       if (ec || self->ac_ == nullptr || !self->writing_) return;
                       redisAsyncHandleWrite(self->ac_);
                       if (self->ac_ != nullptr && self->writing_) self->wait_write();
                     });
}

} // namespace crier
