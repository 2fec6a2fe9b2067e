#include "common/protocol.hpp"

#include "common/text.hpp"

#include <algorithm>
#include <optional>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <chrono>

namespace crier {
namespace json = boost::json;

namespace {

protocol_error field_error(std::string reason) { return {"invalid_field", std::move(reason)}; }

// Appends `s` as a JSON string literal.
void append_string(std::string& out, std::string_view s) { out += json::serialize(json::string_view(s.data(), s.size())); }

} // namespace

void append_member_json(std::string& out, member_info const& m) {
  out += R"({"id":)";
  append_string(out, m.id);
  out += R"(,"name":)";
  append_string(out, m.name);
  if (!m.user.empty()) {
    out += R"(,"user":)";
    append_string(out, m.user);
  }
  out += '}';
}

namespace {

void append_list(std::string& out, std::vector<std::string const*> const& items) {
  out += '[';
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += *items[i];
  }
  out += ']';
}

// A JSON number that is a non-negative integer, however it was written (41, 41.0).
std::optional<std::uint64_t> as_count(json::value const& v) {
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
  if (v.is_double()) {
    double const d = v.get_double();
    if (d >= 0 && d <= 9007199254740992.0 && d == static_cast<double>(static_cast<std::uint64_t>(d)))
      return static_cast<std::uint64_t>(d);
  }
  return std::nullopt;
}

} // namespace

client_message decode_client_message(std::string_view text) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 16; // nothing legitimate nests; a deep document is an attack on the parser
  json::value const doc = json::parse(json::string_view(text.data(), text.size()), ec, {}, options);
  if (ec) return protocol_error{"invalid_json", "not valid JSON: " + ec.message()};
  auto const* obj = doc.if_object();
  if (obj == nullptr) return protocol_error{"invalid_json", "expected a JSON object"};

  auto const* type = obj->if_contains("type");
  if (type == nullptr) return field_error("missing field \"type\"");
  if (!type->is_string()) return field_error("field \"type\" must be a string");
  auto const& t = type->get_string();

  if (t == "message") {
    auto const* body = obj->if_contains("text");
    if (body == nullptr) return field_error("missing field \"text\"");
    if (!body->is_string()) return field_error("field \"text\" must be a string");
    return send_text_request{std::string(body->get_string())};
  }
  if (t == "history") {
    history_request req;
    if (auto const* before = obj->if_contains("before"); before != nullptr && !before->is_null()) {
      auto const v = as_count(*before);
      if (!v) return field_error("field \"before\" must be a non-negative integer");
      req.before = *v;
    }
    if (auto const* limit = obj->if_contains("limit"); limit != nullptr && !limit->is_null()) {
      auto const v = as_count(*limit);
      if (!v || *v == 0) return field_error("field \"limit\" must be a positive integer");
      req.limit = static_cast<std::size_t>(std::min<std::uint64_t>(*v, max_history_page));
    }
    return req;
  }
  if (t == "members") {
    members_request req;
    if (auto const* after = obj->if_contains("after"); after != nullptr && !after->is_null()) {
      if (!after->is_string()) return field_error("field \"after\" must be a string");
      req.after = std::string(after->get_string());
    }
    if (auto const* q = obj->if_contains("q"); q != nullptr && !q->is_null()) {
      if (!q->is_string()) return field_error("field \"q\" must be a string");
      req.query = std::string(q->get_string());
    }
    if (auto const* limit = obj->if_contains("limit"); limit != nullptr && !limit->is_null()) {
      auto const v = as_count(*limit);
      if (!v || *v == 0) return field_error("field \"limit\" must be a positive integer");
      req.limit = static_cast<std::size_t>(std::min<std::uint64_t>(*v, max_members_page));
    }
    return req;
  }
  if (t == "refresh") {
    auto const* token = obj->if_contains("token");
    if (token == nullptr) return field_error("missing field \"token\"");
    if (!token->is_string()) return field_error("field \"token\" must be a string");
    return refresh_request{std::string(token->get_string())};
  }
  std::string reason = "unknown message type ";
  append_string(reason, std::string_view(t.data(), t.size()));
  return protocol_error{"unknown_type", std::move(reason)};
}

namespace {
char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool contains_ascii_ci(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  auto const it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                              [](char a, char b) { return ascii_lower(a) == ascii_lower(b); });
  return it != hay.end();
}
} // namespace

members_page_result page_members(std::vector<member_info const*> candidates, members_request const& req) {
  std::erase_if(candidates, [&](member_info const* m) {
    return (!req.after.empty() && m->id <= req.after) || !contains_ascii_ci(m->name, req.query);
  });
  auto const by_id = [](member_info const* a, member_info const* b) { return a->id < b->id; };
  auto const limit = std::clamp<std::size_t>(req.limit, 1, max_members_page);
  members_page_result out;
  bool const more = candidates.size() > limit;
  if (more) {
    std::nth_element(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(limit), candidates.end(), by_id);
    candidates.resize(limit);
  }
  std::sort(candidates.begin(), candidates.end(), by_id);
  if (more) out.next = candidates.back()->id; // nth_element kept the `limit` smallest ids
  out.members = std::move(candidates);
  return out;
}

namespace {
// A message event; seq is left out for a message a cluster node delivered only locally.
std::string render_message_event(std::optional<std::uint64_t> seq, std::int64_t ts, member_info const& from,
                                 std::string_view text) {
  std::string out;
  out.reserve(104 + from.id.size() + from.name.size() + from.user.size() + text.size());
  out += R"({"type":"message",)";
  if (seq) {
    out += R"("seq":)";
    out += std::to_string(*seq);
    out += ',';
  }
  out += R"("ts":)";
  out += std::to_string(ts);
  out += R"(,"from":)";
  append_member_json(out, from);
  out += R"(,"text":)";
  append_string(out, text);
  out += '}';
  return out;
}
} // namespace

std::string render_message(std::uint64_t seq, std::int64_t ts, member_info const& from, std::string_view text) {
  return render_message_event(seq, ts, from, text);
}

std::string render_unsequenced_message(std::int64_t ts, member_info const& from, std::string_view text) {
  return render_message_event(std::nullopt, ts, from, text);
}

std::string render_presence(std::string_view type, std::int64_t ts, member_info const& member) {
  std::string out = R"({"type":)";
  append_string(out, type);
  out += R"(,"ts":)";
  out += std::to_string(ts);
  out += R"(,"member":)";
  append_member_json(out, member);
  out += '}';
  return out;
}

std::string render_presence_batch(std::int64_t ts, std::size_t count, std::uint64_t joined, std::uint64_t left,
                                  std::vector<member_info const*> const* members) {
  std::string out = R"({"type":"presence","ts":)";
  out += std::to_string(ts);
  out += R"(,"count":)";
  out += std::to_string(count);
  out += R"(,"joined":)";
  out += std::to_string(joined);
  out += R"(,"left":)";
  out += std::to_string(left);
  if (members != nullptr) {
    out += R"(,"members":[)";
    for (std::size_t i = 0; i < members->size(); ++i) {
      if (i > 0) out += ',';
      append_member_json(out, *(*members)[i]);
    }
    out += ']';
  }
  out += '}';
  return out;
}

std::string render_members_page(std::size_t count, std::vector<member_info const*> const& members,
                                std::string_view next) {
  std::string out = R"({"type":"members","count":)";
  out += std::to_string(count);
  out += R"(,"members":[)";
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (i > 0) out += ',';
    append_member_json(out, *members[i]);
  }
  out += R"(],"next":)";
  if (next.empty())
    out += "null";
  else
    append_string(out, next);
  out += '}';
  return out;
}

std::string render_error(std::string_view code, std::string_view reason) {
  std::string out = R"({"type":"error","code":)";
  append_string(out, code);
  out += R"(,"reason":)";
  append_string(out, reason);
  out += '}';
  return out;
}

std::string render_refreshed(std::optional<std::int64_t> exp) {
  std::string out = R"({"type":"refreshed","exp":)";
  out += exp ? std::to_string(*exp) : "null";
  out += '}';
  return out;
}

std::string render_welcome(welcome_view const& w) {
  std::string out = R"({"type":"welcome","id":)";
  append_string(out, w.you.id);
  out += R"(,"name":)";
  append_string(out, w.you.name);
  if (!w.you.user.empty()) {
    out += R"(,"user":)";
    append_string(out, w.you.user);
  }
  out += R"(,"room":)";
  append_string(out, w.room);
  out += R"(,"epoch":)";
  append_string(out, w.epoch);
  out += R"(,"members":[)";
  for (std::size_t i = 0; i < w.members.size(); ++i) {
    if (i > 0) out += ',';
    append_member_json(out, *w.members[i]);
  }
  out += R"(],"member_count":)";
  out += std::to_string(std::max(w.member_count, w.members.size()));
  out += R"(,"history":)";
  append_list(out, w.history);
  out += R"(,"seq":)";
  out += std::to_string(w.seq);
  out += R"(,"resumed":)";
  out += w.resumed ? "true" : "false";
  out += '}';
  return out;
}

std::string render_history(std::vector<std::string const*> const& messages) {
  std::string out = R"({"type":"history","messages":)";
  append_list(out, messages);
  out += '}';
  return out;
}

std::string json_string(std::string_view s) {
  std::string out;
  append_string(out, s);
  return out;
}

bool offers_json_subprotocol(std::string_view header) {
  return find_in_list(header, [](std::string_view offer) { return offer == json_subprotocol; });
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace crier
