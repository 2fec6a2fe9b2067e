#include "common/sse.hpp"

#include "common/protocol.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace crier {

namespace {

constexpr std::size_t max_epoch_length = 64;

bool is_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::optional<std::uint64_t> parse_seq(std::string_view s) {
  std::uint64_t value = 0;
  if (s.empty() || s.front() < '0' || s.front() > '9') return std::nullopt;
  auto const* end = s.data() + s.size();
  auto const r = std::from_chars(s.data(), end, value);
  if (r.ec != std::errc{} || r.ptr != end) return std::nullopt;
  return value;
}

} // namespace

std::string format_event_id(std::string_view epoch, std::uint64_t seq) {
  std::string out(epoch);
  out += ':';
  out += std::to_string(seq);
  return out;
}

std::optional<sse_position> parse_event_id(std::string_view id) {
  auto const colon = id.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > max_epoch_length) return std::nullopt;
  auto const epoch = id.substr(0, colon);
  if (!std::ranges::all_of(epoch, is_alnum)) return std::nullopt;
  auto const seq = parse_seq(id.substr(colon + 1));
  if (!seq) return std::nullopt;
  return sse_position{std::string(epoch), *seq};
}

std::optional<event_head> read_event_head(std::string_view json) {
  constexpr std::string_view type_key = R"({"type":")";
  constexpr std::string_view seq_key = R"(,"seq":)";
  if (!json.starts_with(type_key)) return std::nullopt;
  auto const rest = json.substr(type_key.size());
  auto const quote = rest.find('"');
  if (quote == std::string_view::npos || quote == 0) return std::nullopt;
  event_head head{rest.substr(0, quote), std::nullopt};
  // Types are lower-case words: anything else would make a malformed "event:" line.
  if (!std::ranges::all_of(head.type, [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; })) return std::nullopt;
  auto after = rest.substr(quote + 1);
  if (after.starts_with(seq_key)) {
    after.remove_prefix(seq_key.size());
    std::size_t digits = 0;
    while (digits < after.size() && after[digits] >= '0' && after[digits] <= '9') ++digits;
    head.seq = parse_seq(after.substr(0, digits));
  }
  return head;
}

bool append_sse_event(std::string& out, std::string_view json, std::string_view epoch) {
  auto const head = read_event_head(json);
  if (!head) return false;
  out += "event: ";
  out += head->type;
  out += '\n';
  if (head->seq && head->type == "message") {
    out += "id: ";
    out += epoch;
    out += ':';
    char digits[24];
    auto const r = std::to_chars(digits, digits + sizeof digits, *head->seq);
    out.append(digits, r.ptr);
    out += '\n';
  }
  // One data line per line of the payload; a CR, LF or CRLF all end a line in SSE. (Two finds
  // of one character each: find_first_of with a set looks up every byte in the set.)
  std::string_view rest = json;
  for (;;) {
    auto const eol = std::min(rest.find('\n'), rest.find('\r'));
    out += "data: ";
    out += rest.substr(0, eol);
    out += '\n';
    if (eol == std::string_view::npos) break;
    std::size_t const skip = rest.compare(eol, 2, "\r\n") == 0 ? 2 : 1;
    rest.remove_prefix(eol + skip);
  }
  out += '\n';
  return true;
}

std::string sse_retry(std::uint64_t ms) { return "retry: " + std::to_string(ms) + "\n\n"; }

std::string sse_close_event(std::uint16_t code, std::string_view reason) {
  std::string json = R"({"type":"close","code":)" + std::to_string(code) + R"(,"reason":)" + json_string(reason) + "}";
  std::string out;
  append_sse_event(out, json, {});
  return out;
}

} // namespace crier
