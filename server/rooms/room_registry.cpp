#include "server/rooms/room_registry.hpp"

#include "common/identity.hpp"

#include <algorithm>

#include <pthread.h>

namespace crier {

room_registry::room_registry(room_settings settings) : settings_(settings) {
  if (settings_.presence_threshold == static_cast<std::size_t>(-1)) return;
  // Presence of big rooms goes out from here, one event per room per interval. A thread of its
  // own: the rooms have no executor, and a flush only queues frames (members wake their writers).
  ticker_ = std::jthread([this](std::stop_token stop) {
    // Named, so that `top -H` (and bench/run, which pins the io threads) tells it apart.
    pthread_setname_np(pthread_self(), "crier-presence");
    std::unique_lock lock(ticker_mutex_);
    while (!stop.stop_requested()) {
      ticker_wake_.wait_for(lock, stop, settings_.presence_interval, [] { return false; });
      if (stop.stop_requested()) break;
      flush_presence();
    }
  });
}

room_registry::~room_registry() {
  if (ticker_.joinable()) {
    ticker_.request_stop();
    ticker_.join();
  }
}

void room_registry::flush_presence() {
  std::vector<std::shared_ptr<room>> pending;
  {
    std::lock_guard lock(mutex_);
    for (auto const& [name, r] : rooms_)
      if (r->presence_pending()) pending.push_back(r);
  }
  for (auto const& r : pending) r->flush_presence();
}

std::shared_ptr<room>* room_registry::slot_locked(std::string const& name) {
  auto it = rooms_.find(name);
  if (it != rooms_.end()) return &it->second;
  if (rooms_.size() >= settings_.max_rooms) {
    // Rooms kept only for their history make way before a new room is refused.
    sweep_locked(std::chrono::steady_clock::now());
    if (rooms_.size() >= settings_.max_rooms && empty_rooms_ > 0) evict_oldest_empty_locked();
    if (rooms_.size() >= settings_.max_rooms) return nullptr;
  }
  auto& slot = rooms_[name];
  // A fresh epoch tells resuming clients that seq numbers restarted.
  slot = std::make_shared<room>(name, settings_.history, random_hex(8), uplink_);
  slot->set_metrics(settings_.metrics);
  slot->set_presence_threshold(settings_.presence_threshold);
  slot->set_compression_min_size(settings_.compression_min_size);
  slot->set_compression_context(settings_.compression_level, settings_.compression_context_members);
  slot->set_events(events_);
  ++empty_rooms_;
  return &slot;
}

room_registry::join_result room_registry::join(std::string const& name, room_member* m,
                                               join_options const& options) {
  std::lock_guard lock(mutex_);
  if (draining_) return {nullptr, refusal::draining};
  auto* slot = slot_locked(name);
  if (slot == nullptr) return {nullptr, refusal::too_many_rooms};
  if ((*slot)->size() == 0) --empty_rooms_;
  (*slot)->join(m, options);
  return {*slot, refusal::none};
}

std::shared_ptr<room> room_registry::ensure(std::string const& name) {
  std::lock_guard lock(mutex_);
  if (draining_) return nullptr;
  auto* slot = slot_locked(name);
  return slot == nullptr ? nullptr : *slot;
}

void room_registry::set_cluster(room_uplink* u, room_directory* d) {
  std::lock_guard lock(mutex_);
  uplink_ = u;
  directory_ = d;
}

void room_registry::set_events(room_events* e) {
  std::lock_guard lock(mutex_);
  events_ = e;
}

// directory_ is set once, before the server listens, and cleared after every session is gone:
// reading it without the lock here is safe for the same reason calling into it is.
boost::asio::awaitable<void> room_registry::prepare(std::string name, std::chrono::milliseconds timeout) {
  if (directory_ != nullptr) co_await directory_->prepare(std::move(name), timeout);
}

boost::asio::awaitable<std::vector<room_summary>> room_registry::list_everywhere(std::chrono::milliseconds timeout) {
  if (directory_ != nullptr) {
    if (auto rooms = co_await directory_->list_rooms(timeout)) co_return std::move(*rooms);
  }
  co_return list();
}

boost::asio::awaitable<room_detail> room_registry::describe_everywhere(std::string name,
                                                                      std::chrono::milliseconds timeout) {
  if (directory_ != nullptr) {
    if (auto detail = co_await directory_->describe_room(name, timeout)) co_return std::move(*detail);
  }
  room_detail local;
  if (auto const r = find(name)) {
    local.members = r->members();
    local.seq = r->last_seq();
  }
  co_return local;
}

bool room_registry::cluster_up() const noexcept { return directory_ == nullptr || directory_->up(); }

std::size_t room_registry::disconnect(std::string_view room, std::string_view user) {
  std::vector<std::shared_ptr<crier::room>> targets;
  {
    std::lock_guard lock(mutex_);
    if (!room.empty()) {
      if (auto it = rooms_.find(std::string(room)); it != rooms_.end()) targets.push_back(it->second);
    } else {
      targets.reserve(rooms_.size());
      for (auto const& [name, r] : rooms_) targets.push_back(r);
    }
  }
  std::size_t closed = 0;
  for (auto const& r : targets) closed += r->close_user(user, close_disconnected, "disconnected by server");
  return closed;
}

bool room_registry::disconnect_everywhere(std::string room, std::string user, std::size_t* closed) {
  auto const here = disconnect(room, user);
  if (closed != nullptr) *closed = here;
  return directory_ == nullptr || directory_->disconnect_everywhere(std::move(room), std::move(user));
}

void room_registry::evict_oldest_empty_locked() {
  auto oldest = rooms_.end();
  for (auto it = rooms_.begin(); it != rooms_.end(); ++it) {
    if (it->second->size() != 0) continue;
    if (oldest == rooms_.end() || it->second->empty_since() < oldest->second->empty_since()) oldest = it;
  }
  if (oldest != rooms_.end()) {
    rooms_.erase(oldest);
    --empty_rooms_;
  }
}

std::size_t room_registry::queued_bytes() const {
  std::lock_guard lock(mutex_);
  std::size_t total = 0;
  for (auto const& [name, r] : rooms_) total += r->queued_bytes();
  return total;
}

void room_registry::leave(std::shared_ptr<room> const& r, room_member* m) {
  std::lock_guard lock(mutex_);
  // Emptiness is decided under the registry lock, so a concurrent join cannot slip into a room
  // that is being removed.
  if (!r->leave(m)) return;
  auto it = rooms_.find(r->name());
  if (it == rooms_.end() || it->second != r) return;
  if (settings_.history == 0) {
    rooms_.erase(it);
    return;
  }
  ++empty_rooms_;
  if (empty_rooms_ > settings_.max_empty_rooms) sweep_locked(std::chrono::steady_clock::now());
}

std::size_t room_registry::sweep(std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  return sweep_locked(now);
}

std::size_t room_registry::sweep_locked(std::chrono::steady_clock::time_point now) {
  std::size_t dropped = 0;
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::string>> empty;
  for (auto it = rooms_.begin(); it != rooms_.end();) {
    if (it->second->size() != 0) {
      ++it;
      continue;
    }
    auto const since = it->second->empty_since();
    if (now - since >= settings_.empty_room_ttl) {
      it = rooms_.erase(it);
      --empty_rooms_;
      ++dropped;
      continue;
    }
    empty.emplace_back(since, it->first);
    ++it;
  }
  if (empty.size() > settings_.max_empty_rooms) {
    auto const excess = empty.size() - settings_.max_empty_rooms;
    std::ranges::nth_element(empty, empty.begin() + static_cast<std::ptrdiff_t>(excess));
    for (std::size_t i = 0; i < excess; ++i) {
      rooms_.erase(empty[i].second);
      --empty_rooms_;
      ++dropped;
    }
  }
  return dropped;
}

void room_registry::drain(std::uint16_t code, std::string_view reason) {
  std::lock_guard lock(mutex_);
  draining_ = true;
  for (auto& [name, r] : rooms_) r->close_all(code, reason);
}

std::shared_ptr<room> room_registry::find(std::string const& name) const {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(name);
  return it == rooms_.end() ? nullptr : it->second;
}

std::vector<room_summary> room_registry::list() const {
  std::lock_guard lock(mutex_);
  std::vector<room_summary> out;
  for (auto const& [name, r] : rooms_)
    if (auto const n = r->size(); n > 0) out.push_back({name, n});
  std::ranges::sort(out, {}, &room_summary::name);
  return out;
}

std::size_t room_registry::room_count() const {
  std::lock_guard lock(mutex_);
  return rooms_.size();
}

} // namespace crier
