#include "server/room.hpp"

#include "server/metrics.hpp"

#include <algorithm>

namespace crier {

namespace {
std::shared_ptr<std::string const> shared(std::string s) { return std::make_shared<std::string const>(std::move(s)); }
} // namespace

room::room(std::string name, std::size_t history_capacity, std::string epoch)
  : name_(std::move(name)),
    epoch_(std::move(epoch)),
    history_(history_capacity),
    empty_since_(std::chrono::steady_clock::now()) {}

void room::join(room_member* m, join_options const& options) {
  std::lock_guard lock(mutex_);
  // A since from another epoch (the room was recreated, the server restarted) means nothing
  // here: replay everything retained, and say the resume is not complete unless it truly is.
  std::optional<std::uint64_t> since = options.since;
  if (since && options.epoch && *options.epoch != epoch_) since = 0;

  if (m->format() == wire_format::json) {
    std::vector<member_info const*> members;
    members.reserve(members_.size() + 1);
    for (auto const* other : members_) members.push_back(&other->info());
    members.push_back(&m->info());
    auto const entries = since ? history_.after(*since) : history_.after(0);
    std::vector<std::string const*> history;
    history.reserve(entries.size());
    for (auto const* e : entries) history.push_back(json_of(*e));
    bool const resumed = since && resume_is_complete(*since, seq_, history_.oldest_seq());
    m->deliver(frame{shared(render_welcome({m->info(), name_, epoch_, members, history, seq_, resumed})), false});
  } else if (since) {
    for (auto const* e : history_.after(*since)) m->deliver(frame{e->text, false});
  }

  deliver_presence_locked("join", m);
  members_.push_back(m);
  if (m->format() == wire_format::json) ++json_members_;
}

bool room::leave(room_member* m) {
  std::lock_guard lock(mutex_);
  auto it = std::ranges::find(members_, m);
  if (it == members_.end()) return members_.empty();
  *it = members_.back(); // order among members does not matter; removal is O(1)
  members_.pop_back();
  if (m->format() == wire_format::json) --json_members_;
  deliver_presence_locked("leave", m);
  if (members_.empty()) {
    members_.shrink_to_fit();
    empty_since_ = std::chrono::steady_clock::now();
  }
  return members_.empty();
}

void room::deliver_presence_locked(std::string_view type, room_member const* subject) {
  if (json_members_ == 0) return; // raw members hear no presence
  frame const f{shared(render_presence(type, now_ms(), subject->info())), false};
  for (auto* m : members_)
    if (m != subject && m->format() == wire_format::json) m->deliver(f);
}

void room::publish_text(member_info const& from, std::shared_ptr<std::string const> text) {
  std::lock_guard lock(mutex_);
  auto const seq = ++seq_;
  auto const ts = now_ms();
  frame const raw{std::move(text), false};
  frame json{nullptr, false};
  // Rendered once, for all JSON members and the history alike; not at all while only raw
  // members listen (the history renders it if a JSON member ever asks).
  if (json_members_ > 0) {
    json.payload = shared(render_message(seq, ts, from, *raw.payload));
    json_renders_.fetch_add(1, std::memory_order_relaxed);
  }
  if (history_.capacity() > 0) history_.push({seq, ts, from, raw.payload, json.payload});
  for (auto* m : members_) m->deliver(m->format() == wire_format::json ? json : raw);
  if (metrics_ != nullptr) metrics_->fanout(members_.size(), members_.size() * raw.size());
}

std::string const* room::json_of(history_entry const& e) const {
  if (!e.json) {
    e.json = shared(render_message(e.seq, e.ts, e.from, *e.text));
    json_renders_.fetch_add(1, std::memory_order_relaxed);
  }
  return e.json.get();
}

void room::publish_binary(std::shared_ptr<std::string const> data) {
  std::lock_guard lock(mutex_);
  frame const f{std::move(data), true};
  for (auto* m : members_) m->deliver(f);
  if (metrics_ != nullptr) metrics_->fanout(members_.size(), members_.size() * f.size());
}

frame room::history_page(history_request const& req) const {
  std::lock_guard lock(mutex_);
  auto const entries = history_.before(req.before.value_or(seq_ + 1), std::min(req.limit, max_history_page));
  std::vector<std::string const*> messages;
  messages.reserve(entries.size());
  for (auto const* e : entries) messages.push_back(json_of(*e));
  return frame{shared(render_history(messages)), false};
}

void room::close_all(std::uint16_t code, std::string_view reason) {
  std::lock_guard lock(mutex_);
  for (auto* m : members_) m->close(code, reason);
}

std::size_t room::size() const {
  std::lock_guard lock(mutex_);
  return members_.size();
}

std::vector<member_info> room::members() const {
  std::lock_guard lock(mutex_);
  std::vector<member_info> out;
  out.reserve(members_.size());
  for (auto const* m : members_) out.push_back(m->info());
  return out;
}

std::uint64_t room::last_seq() const {
  std::lock_guard lock(mutex_);
  return seq_;
}

std::size_t room::queued_bytes() const {
  std::lock_guard lock(mutex_);
  std::size_t total = 0;
  for (auto const* m : members_) total += m->queued_bytes();
  return total;
}

std::chrono::steady_clock::time_point room::empty_since() const {
  std::lock_guard lock(mutex_);
  return empty_since_;
}

} // namespace crier
