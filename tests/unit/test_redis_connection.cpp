// The hiredis-on-Asio adapter against a real redis-server: commands, error replies, timeouts,
// pub/sub, a lost connection, and no pending command left behind.
#include "server/cluster/redis_connection.hpp"
#include "tests/support/redis_process.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <gtest/gtest.h>

#include <optional>

namespace crier {
namespace {

using namespace std::chrono_literals;
using test::redis_process;

// Runs the io_context until `done()` or the deadline.
template <class Pred>
bool run_until(boost::asio::io_context& ioc, Pred done, std::chrono::milliseconds limit = 5s) {
  auto const deadline = std::chrono::steady_clock::now() + limit;
  ioc.restart();
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    ioc.run_for(10ms);
    ioc.restart();
  }
  return true;
}

class redis_connection_test : public ::testing::Test {
protected:
  void SetUp() override {
    if (!test::have_redis_server()) GTEST_FAIL() << "redis-server is missing: scripts/install-deps installs it";
    redis_ = std::make_unique<redis_process>();
  }

  std::shared_ptr<redis_connection> connect() {
    auto c = redis_connection::create(boost::asio::make_strand(ioc_));
    std::optional<boost::system::error_code> result;
    c->connect("127.0.0.1", redis_->port(), 2s, [&](boost::system::error_code ec) { result = ec; });
    EXPECT_TRUE(run_until(ioc_, [&] { return result.has_value(); }));
    EXPECT_FALSE(*result) << result->message();
    return c;
  }

  redis_reply run_command(redis_connection& c, std::vector<std::string> args, boost::system::error_code* ec_out = nullptr,
                          std::chrono::milliseconds timeout = 2s) {
    std::optional<std::pair<boost::system::error_code, redis_reply>> r;
    c.command(args, timeout, [&](boost::system::error_code ec, redis_reply reply) { r.emplace(ec, std::move(reply)); });
    EXPECT_TRUE(run_until(ioc_, [&] { return r.has_value(); }));
    if (ec_out != nullptr) *ec_out = r->first;
    else EXPECT_FALSE(r->first) << r->first.message();
    return r->second;
  }

  boost::asio::io_context ioc_;
  std::unique_ptr<redis_process> redis_;
};

TEST_F(redis_connection_test, commands_and_replies) {
  auto c = connect();
  EXPECT_TRUE(c->connected());
  EXPECT_EQ(run_command(*c, {"SET", "k", std::string("v\0al", 4)}).str, "OK");
  auto const got = run_command(*c, {"GET", "k"});
  EXPECT_EQ(got.type, redis_reply::kind::string);
  EXPECT_EQ(got.str, std::string("v\0al", 4)); // binary-safe
  EXPECT_EQ(run_command(*c, {"INCR", "n"}).integer, 1);
  EXPECT_EQ(run_command(*c, {"INCR", "n"}).integer, 2);
  EXPECT_EQ(run_command(*c, {"GET", "missing"}).type, redis_reply::kind::nil);
  auto const err = run_command(*c, {"NOSUCHCOMMAND"});
  EXPECT_EQ(err.type, redis_reply::kind::error);
  EXPECT_NE(err.str.find("unknown command"), std::string::npos);
  run_command(*c, {"RPUSH", "l", "a", "b"});
  auto const list = run_command(*c, {"LRANGE", "l", "0", "-1"});
  ASSERT_EQ(list.elements.size(), 2U);
  EXPECT_EQ(list.elements[1].str, "b");
  EXPECT_EQ(c->pending(), 0U);
}

TEST_F(redis_connection_test, a_slow_reply_times_out_and_is_then_ignored) {
  auto c = connect();
  boost::system::error_code ec;
  run_command(*c, {"DEBUG", "SLEEP", "0.5"}, &ec, 100ms);
  EXPECT_EQ(ec, redis_error::timeout);
  EXPECT_EQ(c->pending(), 1U); // hiredis still expects the reply
  // The next command's reply comes after the late one, which is dropped, not misdelivered.
  EXPECT_EQ(run_command(*c, {"PING"}).str, "PONG");
  EXPECT_EQ(c->pending(), 0U);
}

TEST_F(redis_connection_test, publish_and_subscribe) {
  auto sub = connect();
  auto pub = connect();
  std::vector<std::pair<std::string, std::string>> got;
  std::optional<boost::system::error_code> subscribed;
  sub->subscribe("room:a", [&](std::string const& ch, std::string const& payload) { got.emplace_back(ch, payload); },
                 [&](boost::system::error_code ec) { subscribed = ec; });
  ASSERT_TRUE(run_until(ioc_, [&] { return subscribed.has_value(); }));
  EXPECT_FALSE(*subscribed);
  EXPECT_EQ(run_command(*pub, {"PUBLISH", "room:a", "one"}).integer, 1);
  EXPECT_EQ(run_command(*pub, {"PUBLISH", "room:b", "elsewhere"}).integer, 0);
  EXPECT_EQ(run_command(*pub, {"PUBLISH", "room:a", "two"}).integer, 1);
  ASSERT_TRUE(run_until(ioc_, [&] { return got.size() == 2; }));
  EXPECT_EQ(got[0].second, "one");
  EXPECT_EQ(got[1], (std::pair<std::string, std::string>{"room:a", "two"}));
  sub->unsubscribe("room:a");
  ASSERT_TRUE(run_until(ioc_, [&] { return sub->pending() == 0; }));
  EXPECT_EQ(run_command(*pub, {"PUBLISH", "room:a", "three"}).integer, 0);
}

TEST_F(redis_connection_test, a_lost_connection_fails_pending_commands_and_says_so_once) {
  auto c = connect();
  auto s = connect();
  int disconnects = 0;
  std::string reason;
  c->on_disconnect([&](std::string const& r) {
    ++disconnects;
    reason = r;
  });
  std::optional<boost::system::error_code> sub_done;
  s->subscribe("x", [](auto const&, auto const&) {}, [&](boost::system::error_code ec) { sub_done = ec; });
  ASSERT_TRUE(run_until(ioc_, [&] { return sub_done.has_value(); }));
  std::optional<boost::system::error_code> pending;
  c->command({"DEBUG", "SLEEP", "2"}, 5s, [&](boost::system::error_code ec, redis_reply) { pending = ec; });
  redis_->kill();
  ASSERT_TRUE(run_until(ioc_, [&] { return pending.has_value() && !s->connected(); }));
  EXPECT_EQ(*pending, redis_error::disconnected);
  EXPECT_EQ(disconnects, 1);
  EXPECT_FALSE(reason.empty());
  EXPECT_FALSE(c->connected());
  EXPECT_EQ(c->pending(), 0U); // nothing leaked
  EXPECT_EQ(s->pending(), 0U);
  // Commands on a dead connection fail at once, and a new connection works once Redis is back.
  boost::system::error_code ec;
  run_command(*c, {"PING"}, &ec);
  EXPECT_EQ(ec, redis_error::not_connected);
  redis_->start();
  auto again = connect();
  EXPECT_EQ(run_command(*again, {"PING"}).str, "PONG");
}

TEST_F(redis_connection_test, connecting_to_nothing_fails_cleanly) {
  auto const port = redis_->port();
  redis_->kill();
  auto c = redis_connection::create(boost::asio::make_strand(ioc_));
  std::optional<boost::system::error_code> result;
  c->connect("127.0.0.1", port, 1s, [&](boost::system::error_code ec) { result = ec; });
  ASSERT_TRUE(run_until(ioc_, [&] { return result.has_value(); }));
  EXPECT_EQ(*result, redis_error::connect_failed);
  EXPECT_FALSE(c->connected());
}

} // namespace
} // namespace crier
