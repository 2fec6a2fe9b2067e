// The per-thread wake list: every add is one wake-up on the context's own thread, whether it came
// from that thread or another, and the clock a wake-up reads is the slice's. A round sooner than
// the batch window after the last waits for it, unless an add may not wait.
#include "server/session/wake_list.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
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
    for (auto& c : local) list.add(c, true);
  });
  std::thread other([&] {
    for (auto& c : remote) list.add(c, true);
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
    void wake() override { list->add(next, true); }
  };
  auto first = std::make_shared<adder>();
  first->list = &list;
  first->next = later;
  boost::asio::post(ctx, [&] { list.add(first, true); });
  ctx.run();
  EXPECT_EQ(later->woken, 1);
}

TEST(wake_list, a_slice_reads_the_clock_once_and_outside_it_the_clock_is_read) {
  boost::asio::io_context ctx;
  auto& list = boost::asio::use_service<wake_list>(ctx);
  auto cs = make_counters(ctx, 3);
  auto const before = std::chrono::steady_clock::now();
  boost::asio::post(ctx, [&] {
    for (auto& c : cs) list.add(c, true);
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

// The batch window is the process's; each test that sets it puts it back.
struct scoped_window {
  explicit scoped_window(std::chrono::milliseconds w) { wake_list::set_batch_window(w); }
  ~scoped_window() { wake_list::set_batch_window({}); }
  scoped_window(scoped_window const&) = delete;
  scoped_window& operator=(scoped_window const&) = delete;
};

// Wakes once, then has `then` run on the context while the next round can only wait.
struct starter final : wakeable {
  std::chrono::steady_clock::time_point seen{};
  boost::asio::io_context* ctx = nullptr;
  std::function<void()> then;
  void wake() override {
    seen = wake_list::now();
    boost::asio::post(*ctx, then);
  }
};

// A context, its list, and a first wake-up whose `then` runs once its round is over.
struct window_rig {
  boost::asio::io_context ctx;
  wake_list& list = boost::asio::use_service<wake_list>(ctx);
  std::shared_ptr<starter> first = std::make_shared<starter>();
  window_rig() { first->ctx = &ctx; }
  void run() {
    boost::asio::post(ctx, [this] { list.add(first, true); });
    ctx.run();
  }
};

TEST(wake_list, a_round_sooner_than_the_batch_window_waits_for_it_and_takes_all_added_meanwhile) {
  using namespace std::chrono_literals;
  scoped_window const window(200ms);
  window_rig rig;
  auto later = make_counters(rig.ctx, 3);
  // Added while the next round waits: one from the context's thread, one from another, one as the
  // follow-up of a wake-up in the first round.
  rig.first->then = [&] {
    rig.list.add(later[0], true);
    std::thread([&] { rig.list.add(later[1], true); }).join();
  };
  struct follow final : wakeable {
    wake_list* list = nullptr;
    std::shared_ptr<counter> next;
    void wake() override { list->add(next, true); }
  };
  auto f = std::make_shared<follow>();
  f->list = &rig.list;
  f->next = later[2];
  boost::asio::post(rig.ctx, [&] { rig.list.add(f, true); });
  rig.run();
  for (auto const& c : later) {
    EXPECT_EQ(c->woken, 1);
    EXPECT_TRUE(c->on_own_thread);
    // One round for the three, the window after the first's.
    EXPECT_EQ(c->seen, later[0]->seen);
    EXPECT_GE(c->seen - rig.first->seen, 200ms);
  }
}

class urgent_add : public testing::TestWithParam<bool> {};

TEST_P(urgent_add, ends_the_wait_for_the_batch_window) {
  // A wait of a minute that the test would notice: an add that may not wait, from this thread or
  // another, has its round start at once, with what was waiting.
  using namespace std::chrono_literals;
  bool const from_other_thread = GetParam();
  scoped_window const window(std::chrono::minutes(1));
  window_rig rig;
  auto later = make_counters(rig.ctx, 2);
  rig.first->then = [&] {
    rig.list.add(later[0], true);
    // Once the round waits, which it does from the turn after the add.
    boost::asio::post(rig.ctx, [&] {
      if (from_other_thread) std::thread([&] { rig.list.add(later[1], false); }).join();
      else rig.list.add(later[1], false);
    });
  };
  auto const started = std::chrono::steady_clock::now();
  rig.run();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s);
  for (auto const& c : later) {
    EXPECT_EQ(c->woken, 1);
    EXPECT_EQ(c->seen, later[0]->seen);
  }
}

INSTANTIATE_TEST_SUITE_P(wake_list, urgent_add, testing::Values(false, true),
                         [](auto const& p) { return p.param ? "from_another_thread" : "from_its_thread"; });

TEST(wake_list, a_round_after_the_batch_window_does_not_wait) {
  // A round asked for once the window is over starts at once: 350 ms after the last, not at the
  // end of a window of its own (650 ms).
  using namespace std::chrono_literals;
  scoped_window const window(300ms);
  window_rig rig;
  auto later = make_counters(rig.ctx, 1);
  boost::asio::steady_timer gap(rig.ctx);
  rig.first->then = [&] {
    gap.expires_after(350ms);
    gap.async_wait([&](auto) { rig.list.add(later[0], true); });
  };
  rig.run();
  EXPECT_EQ(later[0]->woken, 1);
  EXPECT_GE(later[0]->seen - rig.first->seen, 350ms);
  EXPECT_LT(later[0]->seen - rig.first->seen, 550ms);
}

} // namespace
} // namespace crier
