// The per-thread wake list: every add is one wake-up on the context's own thread, whether it came
// from that thread or another, and the clock a wake-up reads is the slice's.
#include "server/session/wake_list.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace crier {
namespace {

struct counter final : wakeable {
  boost::asio::io_context* ctx = nullptr;
  int woken = 0;
  bool on_own_thread = true;
  std::chrono::steady_clock::time_point seen{};
  void wake() override {
    ++woken;
    on_own_thread = on_own_thread && ctx->get_executor().running_in_this_thread();
    seen = wake_list::now();
  }
};

std::vector<std::shared_ptr<counter>> make_counters(boost::asio::io_context& ctx, int n) {
  std::vector<std::shared_ptr<counter>> v;
  for (int i = 0; i < n; ++i) {
    v.push_back(std::make_shared<counter>());
    v.back()->ctx = &ctx;
  }
  return v;
}

TEST(wake_list, wakes_each_add_once_on_its_thread_from_any_thread) {
  boost::asio::io_context ctx;
  auto& list = boost::asio::use_service<wake_list>(ctx);
  // More than one slice (256) of each kind, so that some are woken on a later turn.
  auto local = make_counters(ctx, 600);
  auto remote = make_counters(ctx, 600);
  boost::asio::post(ctx, [&] {
    for (auto& c : local) list.add(c);
  });
  std::thread other([&] {
    for (auto& c : remote) list.add(c);
  });
  other.join();
  ctx.run();
  for (auto const* v : {&local, &remote}) {
    for (auto const& c : *v) {
      EXPECT_EQ(c->woken, 1);
      EXPECT_TRUE(c->on_own_thread);
    }
  }
}

TEST(wake_list, an_add_during_a_wake_is_woken_on_a_later_turn) {
  boost::asio::io_context ctx;
  auto& list = boost::asio::use_service<wake_list>(ctx);
  auto later = make_counters(ctx, 1).front();
  struct adder final : wakeable {
    wake_list* list = nullptr;
    std::shared_ptr<counter> next;
    void wake() override { list->add(next); }
  };
  auto first = std::make_shared<adder>();
  first->list = &list;
  first->next = later;
  boost::asio::post(ctx, [&] { list.add(first); });
  ctx.run();
  EXPECT_EQ(later->woken, 1);
}

TEST(wake_list, a_slice_reads_the_clock_once_and_outside_it_the_clock_is_read) {
  boost::asio::io_context ctx;
  auto& list = boost::asio::use_service<wake_list>(ctx);
  auto cs = make_counters(ctx, 3);
  auto const before = std::chrono::steady_clock::now();
  boost::asio::post(ctx, [&] {
    for (auto& c : cs) list.add(c);
  });
  ctx.run();
  EXPECT_GE(cs[0]->seen, before);
  EXPECT_EQ(cs[0]->seen, cs[1]->seen);
  EXPECT_EQ(cs[1]->seen, cs[2]->seen);
  // Outside a slice, the clock itself: never the zero time point, never behind.
  auto const outside = wake_list::now();
  EXPECT_GE(outside, cs[0]->seen);
  EXPECT_NE(outside, std::chrono::steady_clock::time_point{});
}

} // namespace
} // namespace crier
