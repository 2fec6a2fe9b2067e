// The cluster under faults (label `faults`): real redis-server and real crier nodes on loopback,
// with numbered messages flowing from members on both nodes while Redis freezes (SIGSTOP), dies
// and comes back (with and without its data), a node dies, or a node's link to Redis blackholes,
// stalls, slows down or resets (tests/support/tcp_relay). Every message is checked against
// docs/scaling.md: delivered to its own node's members, and either delivered to the other node's
// with the same seq or counted (crier_redis_dropped_messages_total on the sender's node,
// crier_redis_skipped_messages_total on the receiver's); never twice, always in the sender's
// order. Readiness, crier_redis_up and the log are checked during and after each fault, and the
// members seen by crier.v1 clients and by /api/rooms must agree afterwards. Each test prints one
// `fault-report` line with what it measured (the numbers in docs/scaling.md come from them).
#include "tests/support/crier_process.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/tcp_relay.hpp"
#include "tests/support/ws_client.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <thread>

#include <sys/socket.h>

namespace crier::test {
namespace {

namespace json = boost::json;
using clock = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

constexpr auto heartbeat = 300ms;
// The documented bound (docs/scaling.md): a Redis that stops answering is detected within
// max(2 s, 2 heartbeats).
constexpr auto detection_bound = std::max<ms>(2s, 2 * heartbeat);
constexpr auto send_period = 20ms;
constexpr char const* room = "f";

long long to_ms(clock::duration d) { return std::chrono::duration_cast<ms>(d).count(); }

// Polls `pred` until it holds or `limit` passes; returns how long it took, or nullopt.
std::optional<ms> poll_until(std::function<bool()> const& pred, ms limit = 10s) {
  auto const start = clock::now();
  while (clock::now() - start < limit) {
    if (pred()) return std::chrono::duration_cast<ms>(clock::now() - start);
    std::this_thread::sleep_for(10ms); // polling interval, not synchronisation
  }
  return std::nullopt;
}

unsigned http_status(std::uint16_t port, std::string const& target) {
  auto const r = http_get(port, target, 1s);
  return r.ec ? 0U : r.response.result_int();
}

// One sample of /metrics from a node that may be down or cut off (so a short timeout), or nullopt
// when it does not answer; support's metric() is for a server that is up.
std::optional<std::uint64_t> node_metric(std::uint16_t port, std::string const& name) {
  auto const r = http_get(port, "/metrics", 2s);
  if (r.ec) return std::nullopt;
  auto const& body = r.response.body();
  auto const at = body.find("\n" + name + " ");
  if (at == std::string::npos) return std::nullopt;
  return std::stoull(body.substr(at + name.size() + 2));
}

// Member names in /api/rooms/<room> of the node at `port`, or nullopt.
std::optional<std::multiset<std::string>> api_members(std::uint16_t port) {
  auto const r = http_get(port, std::string("/api/rooms/") + room, 2s);
  if (r.ec || r.response.result_int() != 200) return std::nullopt;
  std::multiset<std::string> out;
  auto const v = json::parse(r.response.body());
  for (auto const& m : v.at("members").as_array()) out.insert(std::string(m.at("name").as_string()));
  return out;
}

// A crier.v1 member that reads on its own thread: every message (text, seq, arrival) and every
// presence event, and the members it believes are in the room.
class listener {
public:
  struct message {
    std::string text;
    std::optional<std::int64_t> seq;
    clock::time_point at;
  };
  struct presence {
    std::string type, id, name;
    clock::time_point at;
  };

  listener(std::uint16_t port, std::string const& name)
    : client_(port, std::string("/ws/") + room + "?name=" + name) {
    auto const w = client_.next();
    id_ = std::string(w.at("id").as_string());
    for (auto const& m : w.at("members").as_array()) {
      members_[std::string(m.at("id").as_string())] = std::string(m.at("name").as_string());
      initial_.insert(std::string(m.at("name").as_string()));
    }
    thread_ = std::thread([this] { run(); });
  }
  ~listener() {
    stop_ = true;
    // A read that times out ends a Beast client, so the reader blocks with a long timeout; a
    // shutdown of the socket (a system call, safe from this thread) ends it.
    ::shutdown(client_.stream().next_layer().socket().native_handle(), SHUT_RDWR);
    thread_.join();
  }
  listener(listener const&) = delete;
  listener& operator=(listener const&) = delete;

  std::vector<message> messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  std::vector<presence> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::multiset<std::string> member_names() const {
    std::lock_guard lock(mutex_);
    std::multiset<std::string> out;
    for (auto const& [id, name] : members_) out.insert(name);
    return out;
  }
  // The members its welcome listed.
  std::multiset<std::string> const& initial_names() const { return initial_; }
  std::size_t count_prefix(std::string const& prefix) const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (auto const& m : messages_) n += m.text.starts_with(prefix) ? 1U : 0U;
    return n;
  }
  bool alive() const { return !ended_; }

private:
  void run() {
    while (!stop_) {
      auto r = client_.read(120s);
      if (r.ec) {
        ended_ = true;
        return;
      }
      auto const now = clock::now();
      boost::system::error_code ec;
      auto v = json::parse(r.message.data, ec);
      if (ec || !v.is_object()) continue;
      auto const& o = v.as_object();
      auto const type = std::string(o.at("type").as_string());
      std::lock_guard lock(mutex_);
      if (type == "message") {
        std::optional<std::int64_t> seq;
        if (auto const* s = o.if_contains("seq")) seq = s->as_int64();
        messages_.push_back({std::string(o.at("text").as_string()), seq, now});
      } else if (type == "join" || type == "leave") {
        auto const& m = o.at("member").as_object();
        auto const id = std::string(m.at("id").as_string()), name = std::string(m.at("name").as_string());
        events_.push_back({type, id, name, now});
        if (type == "join") members_[id] = name;
        else members_.erase(id);
      }
    }
  }

  json_client client_;
  std::string id_;
  mutable std::mutex mutex_;
  std::vector<message> messages_;
  std::vector<presence> events_;
  std::map<std::string, std::string> members_;
  std::multiset<std::string> initial_;
  std::atomic<bool> stop_{false}, ended_{false};
  std::thread thread_;
};

// A raw member that sends "<tag>-<k>" every send_period on its own thread, k = 0, 1, ..., and
// remembers when it sent each. It never reads: what the room sends it waits in its socket.
class sender {
public:
  sender(std::uint16_t port, std::string tag) : tag_(std::move(tag)) {
    client_.connect(port, std::string("/ws/") + room + "?name=" + tag_);
    thread_ = std::thread([this] { run(); });
  }
  ~sender() { stop(); }
  sender(sender const&) = delete;
  sender& operator=(sender const&) = delete;

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::string const& tag() const { return tag_; }
  std::vector<clock::time_point> sent() const {
    std::lock_guard lock(mutex_);
    return sent_;
  }

private:
  void run() {
    auto next = clock::now();
    while (!stop_) {
      std::size_t k = 0;
      {
        std::lock_guard lock(mutex_);
        k = sent_.size();
      }
      try {
        auto const at = clock::now();
        client_.send_text(tag_ + "-" + std::to_string(k), 2s);
        std::lock_guard lock(mutex_);
        sent_.push_back(at);
      } catch (std::exception const&) {
        return; // its node died
      }
      next += send_period;
      std::this_thread::sleep_until(next); // the sending rate, not synchronisation
    }
  }

  std::string tag_;
  ws_client client_;
  mutable std::mutex mutex_;
  std::vector<clock::time_point> sent_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// What happened to one sender's messages.
struct tally {
  std::size_t sent = 0, local = 0, remote = 0, missing_remote = 0;
  std::uint64_t counted = 0; // dropped on the sender's node + skipped on the receiver's, during the test
  long long recovery_ms = 0; // from `healed` to the last message that crossed late or not at all
  long long worst_local_ms = 0, worst_local_after_ms = 0;
};

std::optional<std::size_t> number_of(std::string const& text, std::string const& tag) {
  if (!text.starts_with(tag + "-")) return std::nullopt;
  return std::stoul(text.substr(tag.size() + 1));
}

// Checks the guarantee message by message for the messages of `s`: each reached `local` once, in
// order; each reached `remote` at most once, in order, with the seq `local` saw when it saw one;
// and those that did not reach `remote` are no more than `counted`. `healed`: when the fault
// ended, for the recovery time (latency back under `normal` for good).
tally check_messages(sender const& s, listener const& local, listener const& remote, std::uint64_t counted,
                     std::optional<clock::time_point> healed, ms normal = 250ms) {
  tally t;
  auto const sent = s.sent();
  t.sent = sent.size();
  t.counted = counted;
  std::vector<std::optional<listener::message>> at_local(sent.size()), at_remote(sent.size());
  for (auto [who, into] : {std::pair{&local, &at_local}, std::pair{&remote, &at_remote}}) {
    std::optional<std::size_t> last;
    for (auto const& m : who->messages()) {
      auto const k = number_of(m.text, s.tag());
      if (!k) continue;
      EXPECT_LT(*k, sent.size()) << m.text;
      if (*k >= sent.size()) continue;
      EXPECT_FALSE((*into)[*k].has_value()) << "delivered twice: " << m.text << (who == &local ? " (local)" : " (remote)");
      if (last) {
        EXPECT_GT(*k, *last) << "out of the sender's order: " << m.text;
      }
      last = *k;
      (*into)[*k] = m;
    }
  }
  std::optional<std::size_t> last_bad;
  for (std::size_t k = 0; k < sent.size(); ++k) {
    auto const name = s.tag() + "-" + std::to_string(k);
    EXPECT_TRUE(at_local[k].has_value()) << "not delivered on its own node: " << name;
    if (at_local[k]) {
      ++t.local;
      auto const lat = to_ms(at_local[k]->at - sent[k]);
      t.worst_local_ms = std::max(t.worst_local_ms, lat);
      if (healed && sent[k] > *healed + 1s) t.worst_local_after_ms = std::max(t.worst_local_after_ms, lat);
    }
    if (at_remote[k]) {
      ++t.remote;
      EXPECT_TRUE(at_remote[k]->seq.has_value()) << "crossed without a seq: " << name;
      if (at_local[k] && at_local[k]->seq && at_remote[k]->seq) {
        EXPECT_EQ(*at_local[k]->seq, *at_remote[k]->seq) << name;
      }
      if (at_remote[k]->at - sent[k] > normal) last_bad = k;
    } else {
      ++t.missing_remote;
      last_bad = k;
    }
  }
  EXPECT_LE(t.missing_remote, t.counted) << "messages lost without a count (" << s.tag() << ")";
  if (healed && last_bad && sent[*last_bad] > *healed) t.recovery_ms = to_ms(sent[*last_bad] - *healed);
  return t;
}

class faults : public ::testing::Test {
protected:
  void SetUp() override {
    if (!have_redis_server()) GTEST_FAIL() << "redis-server is missing: scripts/install-deps installs it";
  }
  void TearDown() override {
    if (redis_ && redis_->frozen()) redis_->thaw();
    // The clients go first: a node that shuts down would otherwise wait for their closing
    // handshakes (the senders never read).
    sa_.reset();
    sb_.reset();
    la_.reset();
    lb_.reset();
    for (auto& n : nodes_) {
      if (!n || n->wait_exit(0ms)) continue;
      n->signal(SIGTERM);
      EXPECT_EQ(n->wait_exit(15s), 0) << n->log();
      EXPECT_FALSE(n->wait_for_line(std::regex("Sanitizer|runtime error:"), 2s)) << n->log();
    }
  }

  void start_redis(bool keep_data = false) { redis_ = std::make_unique<redis_process>(keep_data); }
  // The fault is over as this is called: waits until `ready_nodes` are ready again and presence
  // agrees, keeps the traffic going 3 s more, then finish() checks every message.
  void recovered(std::string const& fault, std::optional<ms> detection, std::initializer_list<std::size_t> ready_nodes) {
    auto const healed = clock::now();
    for (auto i : ready_nodes) ASSERT_TRUE(ready(i)) << "node " << i;
    auto const back = std::chrono::duration_cast<ms>(clock::now() - healed);
    auto const presence = converged(everyone());
    EXPECT_TRUE(presence) << view();
    traffic(3s);
    finish(fault, detection, healed, presence, back);
  }
  void redis_killed_and_restarted(bool with_data, std::string const& name);

  // Node `i` (0 or 1), through its own relay when `relayed`.
  crier_process& node(std::size_t i, bool relayed = false) {
    if (nodes_.size() <= i) nodes_.resize(i + 1);
    if (relays_.size() <= i) relays_.resize(i + 1);
    if (relayed && !relays_[i]) relays_[i] = std::make_unique<tcp_relay>(redis_->port());
    auto const port = relays_[i] ? relays_[i]->port() : redis_->port();
    nodes_[i] = std::make_unique<crier_process>(std::vector<std::string>{
      "--redis", "redis://127.0.0.1:" + std::to_string(port), "--redis-heartbeat", std::to_string(heartbeat.count()) + "ms",
      "--threads", "2", "--max-queue-messages", "100000", "--max-queue-bytes", "64MiB"});
    auto& p = *nodes_[i];
    EXPECT_TRUE(p.wait_for_line(std::regex("redis: connected"), 10s)) << p.log();
    return p;
  }

  // Two nodes, a listener and a sender on each; returns once both listeners see all four.
  void populate() {
    la_ = std::make_unique<listener>(nodes_[0]->port(), "la");
    lb_ = std::make_unique<listener>(nodes_[1]->port(), "lb");
    sa_ = std::make_unique<sender>(nodes_[0]->port(), "sa");
    sb_ = std::make_unique<sender>(nodes_[1]->port(), "sb");
    ASSERT_TRUE(converged(everyone(), 10s)) << view();
    base_dropped_ = {*node_metric(nodes_[0]->port(), "crier_redis_dropped_messages_total"),
                     *node_metric(nodes_[1]->port(), "crier_redis_dropped_messages_total")};
    base_skipped_ = {*node_metric(nodes_[0]->port(), "crier_redis_skipped_messages_total"),
                     *node_metric(nodes_[1]->port(), "crier_redis_skipped_messages_total")};
  }

  static std::multiset<std::string> everyone() { return {"la", "lb", "sa", "sb"}; }

  // Both listeners and every live node's /api/rooms see exactly `expected`.
  std::optional<ms> converged(std::multiset<std::string> const& expected, ms limit = 10s) {
    return poll_until(
      [&] {
        for (auto* l : {la_.get(), lb_.get()})
          if (l && l->alive() && l->member_names() != expected) return false;
        for (auto const& n : nodes_) {
          if (!n || n->wait_exit(0ms)) continue;
          if (api_members(n->port()) != expected) return false;
        }
        return true;
      },
      limit);
  }

  std::string view() const {
    std::string out;
    for (auto* l : {la_.get(), lb_.get()}) {
      if (!l) continue;
      out += "listener:";
      for (auto const& n : l->member_names()) out += " " + n;
      out += "\n";
    }
    for (auto const& n : nodes_) {
      if (!n || n->wait_exit(0ms)) continue;
      out += "api:";
      if (auto m = api_members(n->port()))
        for (auto const& s : *m) out += " " + s;
      out += "\n";
    }
    return out;
  }

  // Waits until node `i` says it is not ready and crier_redis_up is 0; returns how long.
  std::optional<ms> detected(std::size_t i, ms limit = 10s) {
    return poll_until([&] {
      return http_status(nodes_[i]->port(), "/readyz") == 503 &&
             node_metric(nodes_[i]->port(), "crier_redis_up") == std::optional<std::uint64_t>(0);
    }, limit);
  }
  std::optional<ms> ready(std::size_t i, ms limit = 10s) {
    return poll_until([&] {
      return http_status(nodes_[i]->port(), "/readyz") == 200 &&
             node_metric(nodes_[i]->port(), "crier_redis_up") == std::optional<std::uint64_t>(1);
    }, limit);
  }

  std::uint64_t delta(std::size_t i, std::string const& name, std::uint64_t base) {
    if (!nodes_[i] || nodes_[i]->wait_exit(0ms)) return 0;
    auto const v = node_metric(nodes_[i]->port(), name);
    return v ? *v - base : 0;
  }

  // Stops the senders and waits until every message is where it will be: on its own node, and on
  // the other one or counted. Then checks them all and prints the report line.
  // `back`: how long after `healed` both nodes were ready again.
  void finish(std::string const& fault, std::optional<ms> detection, std::optional<clock::time_point> healed,
              std::optional<ms> presence, ms back = 0ms, bool b_alive = true) {
    sa_->stop();
    sb_->stop();
    auto const counted_for = [&](std::size_t from) {
      std::size_t const to = 1 - from;
      return delta(from, "crier_redis_dropped_messages_total", base_dropped_[from]) +
             delta(to, "crier_redis_skipped_messages_total", base_skipped_[to]);
    };
    // Settled: each message is local, and remote or counted (bounded wait, then a quiet spell for
    // duplicates).
    poll_until([&] {
      auto const a = sa_->sent().size(), b = sb_->sent().size();
      bool const local = la_->count_prefix("sa-") >= a && (!b_alive || lb_->count_prefix("sb-") >= b);
      bool const remote = !b_alive || (lb_->count_prefix("sa-") + counted_for(0) >= a &&
                                       la_->count_prefix("sb-") + counted_for(1) >= b);
      return local && remote;
    }, 10s);
    std::this_thread::sleep_for(300ms); // a quiet spell in which a duplicate would show
    auto const ta = check_messages(*sa_, *la_, *lb_, counted_for(0), healed);
    std::optional<tally> tb;
    if (b_alive) tb = check_messages(*sb_, *lb_, *la_, counted_for(1), healed);
    auto const line = [&](char const* who, tally const& t) {
      std::printf("fault-report fault=%s sender=%s detection_ms=%lld sent=%zu local=%zu remote=%zu counted=%llu "
                  "missing_remote=%zu back_ms=%lld recovery_ms=%lld worst_local_ms=%lld worst_local_1s_after_ms=%lld "
                  "presence_ms=%lld\n",
                  fault.c_str(), who, detection ? static_cast<long long>(detection->count()) : -1LL, t.sent, t.local,
                  t.remote, static_cast<unsigned long long>(t.counted), t.missing_remote,
                  static_cast<long long>(back.count()), t.recovery_ms,
                  t.worst_local_ms, t.worst_local_after_ms, presence ? static_cast<long long>(presence->count()) : -1LL);
    };
    line("a", ta);
    if (tb) line("b", *tb);
    // Members who never left may have been announced leaving and joining again (a node's
    // heartbeat expired meanwhile); each such leave is followed by its join.
    std::size_t leaves = 0;
    for (auto* l : {la_.get(), lb_.get()}) {
      std::map<std::string, bool> here;
      for (auto const& n : l->initial_names()) here[n] = true;
      for (auto const& e : l->events()) {
        bool const join = e.type == "join";
        EXPECT_NE(here[e.name], join) << e.name << (join ? " joined twice" : " left twice") << " (" << fault << ")";
        here[e.name] = join;
        leaves += join ? 0U : 1U;
      }
    }
    std::printf("fault-report fault=%s presence_blips=%zu\n", fault.c_str(), leaves);
    std::fflush(stdout);
    // Local delivery never waits on Redis for long: at most the broker's 250 ms patience, whatever
    // the fault (with room for a sanitizer build's slowness); before it, a freeze held it until
    // the freeze was detected, up to 2 s.
    for (tally const* t : std::initializer_list<tally const*>{&ta, tb ? &*tb : nullptr}) {
      if (t != nullptr) {
        EXPECT_LE(t->worst_local_ms, 750) << fault << ": a local delivery waited on Redis";
      }
    }
    // Latency is back to normal within a second of the nodes being back, and on the sender's own
    // node within a second of the fault's end.
    if (healed) {
      for (tally const* t : std::initializer_list<tally const*>{&ta, tb ? &*tb : nullptr}) {
        if (t == nullptr) continue;
        EXPECT_LE(t->recovery_ms - back.count(), 1000) << fault;
        EXPECT_LE(t->worst_local_after_ms, 250) << fault;
      }
    }
  }

  // Lets traffic flow for `d` (the senders run on their own threads).
  static void traffic(ms d) { std::this_thread::sleep_for(d); }

  std::size_t count_lines(std::size_t i, std::string const& pattern) const {
    std::size_t n = 0;
    std::regex const re(pattern);
    for (auto const& line : nodes_[i]->lines()) n += std::regex_search(line, re) ? 1U : 0U;
    return n;
  }

  std::unique_ptr<redis_process> redis_;
  std::vector<std::unique_ptr<tcp_relay>> relays_;
  std::vector<std::unique_ptr<crier_process>> nodes_;
  std::unique_ptr<listener> la_, lb_;
  std::unique_ptr<sender> sa_, sb_;
  std::array<std::uint64_t, 2> base_dropped_{}, base_skipped_{};
};

// Redis stops answering for 3 s (longer than the heartbeat keys live) and comes back.
TEST_F(faults, redis_frozen_then_thawed) {
  start_redis();
  node(0);
  node(1);
  populate();
  traffic(1s);
  redis_->freeze();
  auto const d0 = detected(0), d1 = detected(1);
  ASSERT_TRUE(d0 && d1) << nodes_[0]->log();
  EXPECT_LE(*d0, detection_bound + 200ms);
  EXPECT_LE(*d1, detection_bound + 200ms);
  traffic(1500ms);
  redis_->thaw();
  recovered("redis-sigstop", std::max(*d0, *d1), {0, 1});
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(node_metric(nodes_[i]->port(), "crier_redis_link_losses_total"), std::optional<std::uint64_t>(1));
    EXPECT_EQ(count_lines(i, "redis: connection lost"), 1U) << nodes_[i]->log();
    EXPECT_EQ(count_lines(i, "redis: connected"), 2U) << nodes_[i]->log();
  }
}

// Frozen, thawed, then killed 2 s later and restarted empty: the sequence that once left ghosts.
TEST_F(faults, redis_frozen_thawed_then_killed_and_restarted_empty) {
  start_redis();
  node(0);
  node(1);
  populate();
  traffic(1s);
  redis_->freeze();
  auto const d = detected(0);
  ASSERT_TRUE(d);
  traffic(1s);
  redis_->thaw();
  ASSERT_TRUE(ready(0) && ready(1));
  traffic(2s);
  redis_->kill();
  auto const d2 = detected(0);
  ASSERT_TRUE(d2);
  traffic(1s);
  redis_->start();
  recovered("redis-sigstop-sigcont-sigkill", d2, {0, 1});
}

// Redis SIGKILLed under traffic and restarted, with its data (an append-only file) or empty.
void faults::redis_killed_and_restarted(bool with_data, std::string const& name) {
  start_redis(with_data);
  node(0);
  node(1);
  populate();
  traffic(1s);
  redis_->kill();
  auto const d = detected(0);
  ASSERT_TRUE(d && detected(1));
  traffic(1s);
  redis_->start();
  recovered(name, d, {0, 1});
}

TEST_F(faults, redis_killed_and_restarted_empty) { redis_killed_and_restarted(false, "redis-sigkill-restart-empty"); }

TEST_F(faults, redis_killed_and_restarted_with_its_data) {
  redis_killed_and_restarted(true, "redis-sigkill-restart-with-data");
}

// Ghosts: after a freeze episode and normal traffic, node B dies. A announces
// each of B's members leaving exactly once, within 3 heartbeats, and /api/rooms agrees.
TEST_F(faults, a_node_killed_after_a_freeze_leaves_no_ghosts) {
  start_redis();
  node(0);
  node(1);
  populate();
  traffic(500ms);
  redis_->freeze();
  ASSERT_TRUE(detected(0) && detected(1));
  traffic(1500ms);
  redis_->thaw();
  ASSERT_TRUE(ready(0) && ready(1));
  ASSERT_TRUE(converged(everyone())) << view();
  traffic(2s);
  sb_->stop();
  auto const before = la_->events().size();
  nodes_[1]->signal(SIGKILL);
  auto const killed = clock::now();
  ASSERT_TRUE(nodes_[1]->wait_exit(5s));
  auto const presence = converged({"la", "sa"});
  EXPECT_TRUE(presence) << view();
  if (presence) {
    EXPECT_LE(*presence, 3 * heartbeat + 500ms);
  }
  traffic(1s); // any second announcement would come now
  std::map<std::string, int> leaves;
  auto const events = la_->events();
  for (auto i = before; i < events.size(); ++i) {
    EXPECT_EQ(events[i].type, "leave") << events[i].name;
    ++leaves[events[i].name];
  }
  EXPECT_EQ(leaves, (std::map<std::string, int>{{"lb", 1}, {"sb", 1}}));
  std::printf("fault-report fault=node-sigkill-after-freeze leave_ms=%lld\n",
              presence ? static_cast<long long>(presence->count()) : -1LL);
  (void)killed;
  sa_->stop();
}

// A node dies and is started again; the room's members converge each time.
TEST_F(faults, a_node_killed_and_restarted) {
  start_redis();
  node(0);
  node(1);
  populate();
  traffic(1s);
  sb_->stop();
  nodes_[1]->signal(SIGKILL);
  ASSERT_TRUE(nodes_[1]->wait_exit(5s));
  auto const left = converged({"la", "sa"});
  EXPECT_TRUE(left) << view();
  if (left) {
    EXPECT_LE(*left, 3 * heartbeat + 500ms);
  }
  node(1);
  auto lb2 = std::make_unique<listener>(nodes_[1]->port(), "lb");
  auto const joined = converged({"la", "sa", "lb"});
  EXPECT_TRUE(joined) << view();
  std::map<std::string, int> leaves;
  for (auto const& e : la_->events())
    if (e.type == "leave") ++leaves[e.name];
  EXPECT_EQ(leaves, (std::map<std::string, int>{{"lb", 1}, {"sb", 1}}));
  // What sa sent while B was gone is all on A; what it sends now reaches B's new member.
  EXPECT_TRUE(poll_until([&] { return lb2->count_prefix("sa-") > 5; }));
  sa_->stop();
  auto const sent = sa_->sent().size();
  EXPECT_TRUE(poll_until([&] { return la_->count_prefix("sa-") == sent; }));
  std::printf("fault-report fault=node-sigkill-restart leave_ms=%lld rejoin_ms=%lld\n",
              left ? static_cast<long long>(left->count()) : -1LL, joined ? static_cast<long long>(joined->count()) : -1LL);
}

// Node A's link to Redis blackholes for 2 s: only A notices; B goes on.
TEST_F(faults, a_link_that_blackholes) {
  start_redis();
  node(0, true);
  node(1);
  populate();
  traffic(1s);
  relays_[0]->set(tcp_relay::mode::blackhole);
  auto const d = detected(0);
  ASSERT_TRUE(d);
  EXPECT_LE(*d, detection_bound + 200ms);
  EXPECT_EQ(http_status(nodes_[1]->port(), "/readyz"), 200U);
  traffic(2s);
  relays_[0]->set(tcp_relay::mode::pass);
  recovered("link-blackhole", d, {0});
  EXPECT_EQ(count_lines(0, "redis: connection lost"), 1U) << nodes_[0]->log();
}

// Node A's link stalls (nothing forwarded, everything held) for 2 s, then delivers it all late.
TEST_F(faults, a_link_that_stalls) {
  start_redis();
  node(0, true);
  node(1);
  populate();
  traffic(1s);
  relays_[0]->set(tcp_relay::mode::pause);
  auto const d = detected(0);
  ASSERT_TRUE(d);
  EXPECT_LE(*d, detection_bound + 200ms);
  traffic(1s);
  relays_[0]->set(tcp_relay::mode::pass);
  recovered("link-pause", d, {0});
}

// Node A's link resets (RST): it notices at once and is back within the backoff.
TEST_F(faults, a_link_that_resets) {
  start_redis();
  node(0, true);
  node(1);
  populate();
  traffic(1s);
  auto const at = clock::now();
  relays_[0]->reset();
  ASSERT_TRUE(nodes_[0]->wait_for_line(std::regex("redis: connection lost"), 5s));
  auto const d = std::chrono::duration_cast<ms>(clock::now() - at);
  recovered("link-reset", d, {0});
}

// A slow link (50 ms each way, well under the liveness deadline) is not a fault: nothing is
// dropped and the node stays ready.
TEST_F(faults, a_slow_link_is_not_a_fault) {
  start_redis();
  node(0, true);
  node(1);
  populate();
  relays_[0]->set(tcp_relay::mode::slow, 50ms);
  traffic(3s);
  EXPECT_EQ(http_status(nodes_[0]->port(), "/readyz"), 200U);
  relays_[0]->set(tcp_relay::mode::pass);
  finish("link-slow-50ms", std::nullopt, std::nullopt, std::nullopt);
  EXPECT_EQ(delta(0, "crier_redis_dropped_messages_total", base_dropped_[0]), 0U);
  EXPECT_EQ(count_lines(0, "redis: connection lost"), 0U) << nodes_[0]->log();
}

} // namespace
} // namespace crier::test
