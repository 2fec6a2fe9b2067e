#include "server/rooms/room.hpp"

#include "server/metrics.hpp"
#include "server/prefetch.hpp"

#include <algorithm>
#include <unordered_set>

namespace crier {

namespace {
std::shared_ptr<std::string const> shared(std::string s) { return std::make_shared<std::string const>(std::move(s)); }
} // namespace

room::room(std::string name, std::size_t history_capacity, std::string epoch, room_uplink* uplink)
  : name_(std::move(name)),
    uplink_(uplink),
    epoch_(std::move(epoch)),
    history_(history_capacity),
    empty_since_(std::chrono::steady_clock::now()) {}

// Every message and binary fan-out in the room, the publish hot path: under the lock, which makes
// the room one ordered stream; no allocation, just one append to each member's queue.
void room::fan_out_locked(frame const& raw, frame const& json) {
  // Binary passes one frame for both formats: then nobody's format needs asking.
  bool const one_frame = &raw == &json;
  // A big room's members were last touched a broadcast ago and have left the cache since: each
  // is asked for ahead, its first lines (the vtable pointer, and what prefetch_for_delivery reads
  // to know what to ask for), then through it the rest.
  auto const n = members_.size();
  for (std::size_t i = 0; i < n; ++i) {
    prefetch_walk(i, n, 3, [&](std::size_t j) { return members_[j]; },
                  [&](std::size_t j) { members_[j]->prefetch_for_delivery(); });
    auto* m = members_[i];
    m->deliver(one_frame || m->format() != wire_format::json ? raw : json);
  }
  if (metrics_ != nullptr) metrics_->fanout(members_.size(), members_.size() * raw.size());
}

namespace {
// The index of the oldest of `entries` (oldest first) from which the newest fit in `max_bytes`
// and `max_messages`, as `size_of` measures them; the newest always fits (an empty queue takes
// any one message).
template <class SizeOf>
std::size_t newest_that_fit(std::vector<history_entry const*> const& entries, std::size_t max_bytes,
                            std::size_t max_messages, SizeOf size_of) {
  auto first = entries.size();
  std::size_t bytes = 0;
  while (first > 0) {
    auto const size = size_of(*entries[first - 1]);
    auto const count = entries.size() - first;
    if (count > 0 && (bytes + size > max_bytes || count + 1 > max_messages)) break;
    bytes += size;
    --first;
  }
  return first;
}
} // namespace

void room::join(room_member* m, join_options const& options) {
  std::lock_guard lock(mutex_);
  // A since from another epoch (the room was recreated, the server restarted) means nothing
  // here: replay everything retained, and say the resume is not complete unless it truly is.
  std::optional<std::uint64_t> since = options.since;
  if (since && options.epoch && *options.epoch != epoch_) since = 0;
  std::size_t const total_after = members_.size() + remote_members_.size() + 1;
  if (!big_ && total_after > presence_threshold_) big_ = true;

  bool const sees_presence = allows(m->granted(), permission::presence);
  if (!allows(m->granted(), permission::history)) since.reset();
  if (m->format() == wire_format::json) {
    // A big room's welcome lists at most `threshold` members, the joiner last; the rest are paged.
    // A member that may not see presence is told of itself only.
    std::size_t const cap = !sees_presence ? 1 : big_ ? std::max<std::size_t>(presence_threshold_, 1) : total_after;
    std::vector<member_info const*> members;
    members.reserve(std::min(cap, total_after));
    for (auto const* other : members_) {
      if (members.size() + 1 >= cap) break;
      members.push_back(&other->info());
    }
    for (auto const& other : remote_members_) {
      if (members.size() + 1 >= cap) break;
      members.push_back(&other);
    }
    members.push_back(&m->info());
    auto const entries = !allows(m->granted(), permission::history) ? std::vector<history_entry const*>{}
                         : since                                    ? history_.after(*since)
                                                                    : history_.after(0);
    auto const first = newest_that_fit(entries, options.replay_bytes, options.replay_messages,
                                       [this](history_entry const& e) { return json_of(e)->size(); });
    bool const apart = options.history_as_events;
    std::vector<std::string const*> history; // in the welcome; empty when the replay comes apart
    if (!apart) {
      history.reserve(entries.size() - first);
      for (auto i = first; i < entries.size(); ++i) history.push_back(json_of(*entries[i]));
    }
    bool const resumed = since && first == 0 && resume_is_complete(*since, seq_, history_.oldest_seq());
    m->deliver(frame{shared(render_welcome({m->info(), name_, epoch_, members, history, seq_, resumed,
                                            sees_presence ? total_after : 1})),
                     false});
    if (apart)
      for (auto i = first; i < entries.size(); ++i) {
        json_of(*entries[i]); // sets entries[i]->json, if sizing them has not already
        m->deliver(entry_frame_locked(entries[i]->json, entries[i]->json_deflated, m->deflates()));
      }
  } else if (since) {
    auto const entries = history_.after(*since);
    auto const first = newest_that_fit(entries, options.replay_bytes, options.replay_messages,
                                       [](history_entry const& e) { return e.text->size(); });
    for (auto i = first; i < entries.size(); ++i)
      m->deliver(entry_frame_locked(entries[i]->text, entries[i]->text_deflated, m->deflates()));
  }

  announce_locked(true, m->info(), m, total_after);
  members_.push_back(m);
  // With an uplink the broker decides occupancy cluster-wide, in Redis.
  if (!uplink_ && members_.size() == 1) report_locked(event_type::room_occupied);
  report_locked(event_type::join, m->info());
  if (m->format() == wire_format::json) ++json_members_;
  if (m->deflates()) ++deflate_members_;
  if (m->follows_deflate_stream()) deflate_.joined(static_cast<std::size_t>(m->format()));
  if (m->streams_events()) ++stream_members_;
  if (uplink_) uplink_->joined(name_, m->info());
}

bool room::leave(room_member* m) {
  std::lock_guard lock(mutex_);
  auto it = std::ranges::find(members_, m);
  if (it == members_.end()) return members_.empty();
  *it = members_.back(); // order among members does not matter; removal is O(1)
  members_.pop_back();
  if (m->format() == wire_format::json) --json_members_;
  if (m->deflates()) --deflate_members_;
  if (m->follows_deflate_stream()) deflate_.left(static_cast<std::size_t>(m->format()));
  if (m->streams_events()) --stream_members_;
  announce_locked(false, m->info(), m, members_.size() + remote_members_.size());
  if (uplink_) uplink_->left(name_, m->info());
  report_locked(event_type::leave, m->info());
  if (!uplink_ && members_.empty()) report_locked(event_type::room_vacated);
  if (members_.empty()) {
    members_.shrink_to_fit();
    empty_since_ = std::chrono::steady_clock::now();
  }
  return members_.empty();
}

frame room::shared_frame_locked(std::shared_ptr<std::string const> payload, bool binary,
                                std::optional<wire_format> stream) {
  frame f{std::move(payload), binary};
  if (stream) deflate_.attach(f, static_cast<std::size_t>(*stream));
  // Only an allocation here: the compression on its own happens once, in the first writer that needs it.
  if (!f.deflated && deflate_members_ > 0 && f.size() >= compression_min_size_)
    f.deflated = std::make_shared<deflate_cache>();
  return f;
}

frame room::json_frame_locked(std::shared_ptr<std::string const> payload, bool streamed) {
  frame f = shared_frame_locked(std::move(payload), false, streamed ? std::optional(wire_format::json) : std::nullopt);
  if (stream_members_ > 0) f.sse = std::make_shared<sse_cache>();
  return f;
}

frame room::entry_frame_locked(std::shared_ptr<std::string const> const& payload,
                               std::shared_ptr<deflate_cache const>& slot, bool for_deflate) const {
  frame f{payload, false};
  if (for_deflate && f.size() >= compression_min_size_) {
    if (!slot) slot = std::make_shared<deflate_cache>();
    f.deflated = slot;
  }
  return f;
}

std::vector<member_info const*> room::everyone_locked() const {
  std::vector<member_info const*> all;
  all.reserve(members_.size() + remote_members_.size());
  for (auto const* m : members_) all.push_back(&m->info());
  for (auto const& m : remote_members_) all.push_back(&m);
  return all;
}

void room::deliver_presence_locked(std::string_view type, member_info const& subject, room_member const* skip) {
  if (json_members_ == 0) return; // raw members hear no presence
  // Into the JSON stream: every JSON member with the presence permission gets it (`skip` is never
  // in members_ here), and one without falls out of step until the next reset point.
  deliver_json_locked(json_frame_locked(shared(render_presence(type, now_ms(), subject)), true), skip);
}

void room::deliver_json_locked(frame const& f, room_member const* skip) {
  std::uint64_t sent = 0;
  for (auto* m : members_)
    if (m != skip && m->format() == wire_format::json && allows(m->granted(), permission::presence)) {
      m->deliver(f);
      ++sent;
    }
  presence_sent_.fetch_add(sent, std::memory_order_relaxed);
}

void room::announce_locked(bool joined, member_info const& subject, room_member const* skip, std::size_t total_after) {
  if (!big_ && total_after > presence_threshold_) big_ = true;
  if (!big_) {
    deliver_presence_locked(joined ? "join" : "leave", subject, skip);
    return;
  }
  // Counted, not told: one event per interval however many came and went.
  ++(joined ? pending_joined_ : pending_left_);
  presence_pending_.store(true, std::memory_order_relaxed);
}

void room::flush_presence(std::chrono::steady_clock::time_point now) {
  if (!presence_pending()) return;
  std::lock_guard lock(mutex_);
  std::size_t const total = members_.size() + remote_members_.size();
  // One event to every member per flush: past the budget, flush every total/budget seconds.
  if (total * 10 > presence_budget) { // more than ten flushes a second would exceed it
    auto const period = std::chrono::milliseconds(1000 * total / presence_budget);
    if (now - last_flush_ < std::min<std::chrono::milliseconds>(period, std::chrono::seconds(5))) return;
  }
  last_flush_ = now;
  presence_pending_.store(false, std::memory_order_relaxed);
  bool const small_again = total <= presence_threshold_;
  if (json_members_ > 0) {
    std::string text;
    if (small_again) {
      // Back to a small room: join and leave events from now on, on top of this full list.
      auto const all = everyone_locked();
      text = render_presence_batch(now_ms(), total, pending_joined_, pending_left_, &all);
    } else {
      text = render_presence_batch(now_ms(), total, pending_joined_, pending_left_);
    }
    deliver_json_locked(json_frame_locked(shared(std::move(text)), true));
  }
  pending_joined_ = pending_left_ = 0;
  if (small_again) big_ = false;
}

frame room::members_page(members_request const& req) const {
  std::lock_guard lock(mutex_);
  auto all = everyone_locked();
  auto const total = all.size();
  auto const page = page_members(std::move(all), req);
  return frame{shared(render_members_page(total, page.members, page.next)), false};
}

void room::publish_text(member_info const& from, std::shared_ptr<std::string const> text) {
  if (uplink_) {
    // Sequenced cluster-wide first; the broker hands it back through deliver_sequenced().
    uplink_->publish_text(name_, from, std::move(text));
    return;
  }
  std::lock_guard lock(mutex_);
  publish_locked(from, std::move(text));
}

std::uint64_t room::publish_locked(member_info const& from, std::shared_ptr<std::string const> text) {
  auto const seq = ++seq_;
  auto const ts = now_ms();
  frame const raw = shared_frame_locked(std::move(text), false, wire_format::raw);
  frame json;
  // Rendered once, for all JSON members and the history alike; not at all while only raw
  // members listen (the history renders it if a JSON member ever asks).
  if (json_members_ > 0) {
    json = json_frame_locked(shared(render_message(seq, ts, from, *raw.payload)), true);
    json_renders_.fetch_add(1, std::memory_order_relaxed);
  }
  if (history_.capacity() > 0) history_.push({seq, ts, from, raw.payload, json.payload, raw.deflated, json.deflated});
  fan_out_locked(raw, json);
  report_locked(event_type::message, from, seq, raw.payload);
  return seq;
}

void room::report_locked(event_type type, member_info const& who, std::uint64_t seq,
                         std::shared_ptr<std::string const> text) const {
  if (events_ == nullptr || !events_->wants(type)) return;
  events_->on_event({type, name_, now_ms(), who, seq, std::move(text)});
}

void room::publish_once(member_info const& from, std::shared_ptr<std::string const> text, std::string idempotency_key,
                        api_publish_done done) {
  if (uplink_) {
    uplink_->publish_once(name_, from, std::move(text), std::move(idempotency_key), std::move(done));
    return;
  }
  api_publish_result result;
  {
    std::lock_guard lock(mutex_);
    auto const window = history_.capacity();
    if (auto it = idempotency_.find(idempotency_key); it != idempotency_.end() && it->second + window > seq_) {
      result = {api_publish_result::outcome::duplicate, it->second};
    } else {
      result.seq = publish_locked(from, std::move(text));
      if (!idempotency_key.empty() && window > 0) {
        idempotency_[std::move(idempotency_key)] = result.seq;
        // Keys older than the window are forgotten: bounded by the history size, amortised O(1).
        if (idempotency_.size() > 2 * window) std::erase_if(idempotency_, [&](auto const& kv) { return kv.second + window <= seq_; });
      }
    }
  }
  done(result);
}

std::string const* room::json_of(history_entry const& e) const {
  if (!e.json) {
    e.json = shared(render_message(e.seq, e.ts, e.from, *e.text));
    json_renders_.fetch_add(1, std::memory_order_relaxed);
  }
  return e.json.get();
}

void room::publish_binary(std::shared_ptr<std::string const> data, member_info const& from) {
  std::lock_guard lock(mutex_);
  frame const f = shared_frame_locked(std::move(data), true);
  fan_out_locked(f);
  // Binary has no seq: local members have it now, the other nodes off the channel.
  if (uplink_) uplink_->publish_binary(name_, from, f.payload);
}

void room::push_message_locked(sequenced_message const& m, bool deliver) {
  seq_ = m.seq;
  // Into the streams only if delivered: a member misses what nobody is sent.
  frame const raw = shared_frame_locked(m.text, false, deliver ? std::optional(wire_format::raw) : std::nullopt);
  frame json;
  // As for publish_text: rendered once, and only if a JSON member listens now.
  if (deliver && json_members_ > 0) {
    json = json_frame_locked(shared(render_message(m.seq, m.ts, m.from, *m.text)), true);
    json_renders_.fetch_add(1, std::memory_order_relaxed);
  }
  if (history_.capacity() > 0)
    history_.push({m.seq, m.ts, m.from, raw.payload, json.payload, raw.deflated, json.deflated});
  if (!deliver) return;
  fan_out_locked(raw, json);
}

void room::deliver_sequenced(sequenced_message const& m) {
  std::lock_guard lock(mutex_);
  if (m.seq <= seq_) return; // already delivered: never twice
  push_message_locked(m, !m.shown_here);
}

void room::deliver_unsequenced(member_info const& from, std::shared_ptr<std::string const> text) {
  std::lock_guard lock(mutex_);
  frame const raw = shared_frame_locked(std::move(text), false, wire_format::raw);
  frame json;
  if (json_members_ > 0) {
    json = json_frame_locked(shared(render_unsequenced_message(now_ms(), from, *raw.payload)), true);
    json_renders_.fetch_add(1, std::memory_order_relaxed);
  }
  fan_out_locked(raw, json);
}

void room::deliver_remote_binary(std::shared_ptr<std::string const> data) {
  std::lock_guard lock(mutex_);
  frame const f = shared_frame_locked(std::move(data), true);
  fan_out_locked(f);
}

void room::remote_join(member_info const& m) {
  std::lock_guard lock(mutex_);
  if (std::ranges::find(remote_members_, m.id, &member_info::id) != remote_members_.end()) return;
  remote_members_.push_back(m);
  announce_locked(true, m, nullptr, members_.size() + remote_members_.size());
}

void room::remote_leave(member_info const& m) {
  std::lock_guard lock(mutex_);
  auto it = std::ranges::find(remote_members_, m.id, &member_info::id);
  if (it == remote_members_.end()) return;
  auto const gone = std::move(*it);
  remote_members_.erase(it);
  announce_locked(false, gone, nullptr, members_.size() + remote_members_.size());
}

void room::set_remote_members(std::vector<member_info> members) {
  std::lock_guard lock(mutex_);
  std::size_t const total_after = members_.size() + members.size();
  std::unordered_set<std::string_view> now_ids, old_ids;
  now_ids.reserve(members.size());
  old_ids.reserve(remote_members_.size());
  for (auto const& now : members) now_ids.insert(now.id);
  for (auto const& old : remote_members_) old_ids.insert(old.id);
  for (auto const& old : remote_members_)
    if (!now_ids.contains(old.id)) announce_locked(false, old, nullptr, total_after);
  for (auto const& now : members)
    if (!old_ids.contains(now.id)) announce_locked(true, now, nullptr, total_after);
  remote_members_ = std::move(members);
}

void room::reseed(std::string const& epoch, std::uint64_t seq, std::vector<sequenced_message> const& tail) {
  std::lock_guard lock(mutex_);
  bool const fresh = members_.empty() || epoch != epoch_;
  if (fresh) {
    // Nobody here has seen this room's messages: the stream's tail is the history, as it is.
    epoch_ = epoch;
    history_.clear();
    seq_ = 0;
  }
  for (auto const& m : tail)
    if (m.seq > seq_) push_message_locked(m, !fresh); // after an outage: what members missed
  seq_ = std::max(seq_, seq);
}

std::string room::epoch() const {
  std::lock_guard lock(mutex_);
  return epoch_;
}

std::size_t room::cluster_size() const {
  std::lock_guard lock(mutex_);
  return members_.size() + remote_members_.size();
}

frame room::history_page(history_request const& req, std::size_t max_bytes) const {
  std::lock_guard lock(mutex_);
  auto const entries = history_.before(req.before.value_or(seq_ + 1), std::min(req.limit, max_history_page));
  auto const first = newest_that_fit(entries, max_bytes, SIZE_MAX, [this](history_entry const& e) { return json_of(e)->size(); });
  std::vector<std::string const*> messages;
  messages.reserve(entries.size() - first);
  for (auto i = first; i < entries.size(); ++i) messages.push_back(json_of(*entries[i]));
  return frame{shared(render_history(messages)), false};
}

room::history_slice room::events_after(std::uint64_t since, std::size_t limit) const {
  std::lock_guard lock(mutex_);
  history_slice out;
  out.epoch = epoch_;
  out.seq = seq_;
  auto const entries = history_.after(since);
  auto const n = std::min(entries.size(), limit);
  out.more = entries.size() > n;
  out.events.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    json_of(*entries[i]);
    out.events.push_back(entries[i]->json);
    out.last = entries[i]->seq;
  }
  return out;
}

void room::close_all(std::uint16_t code, std::string_view reason) {
  std::lock_guard lock(mutex_);
  for (auto* m : members_) m->close(code, reason);
}

std::size_t room::close_user(std::string_view user, std::uint16_t code, std::string_view reason) {
  std::lock_guard lock(mutex_);
  std::size_t closed = 0;
  for (auto* m : members_)
    if (m->info().user == user) {
      m->close(code, reason);
      ++closed;
    }
  return closed;
}

std::size_t room::size() const {
  std::lock_guard lock(mutex_);
  return members_.size();
}

std::vector<member_info> room::members() const {
  std::lock_guard lock(mutex_);
  std::vector<member_info> out;
  out.reserve(members_.size() + remote_members_.size());
  for (auto const* m : members_) out.push_back(m->info());
  out.insert(out.end(), remote_members_.begin(), remote_members_.end());
  return out;
}

std::vector<member_info> room::local_members() const {
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
