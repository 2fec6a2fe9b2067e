#include "bench/sse_stream.hpp"

namespace crier::bench {

namespace {

char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool read_u16(std::string_view s, std::size_t at, std::uint32_t& v) noexcept {
  if (at + 4 > s.size()) return false;
  v = 0;
  for (std::size_t i = at; i < at + 4; ++i) {
    auto const d = hex_value(s[i]);
    if (d < 0) return false;
    v = (v << 4) | static_cast<std::uint32_t>(d);
  }
  return true;
}

void put_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

} // namespace

bool http_stream_decoder::parse_head(std::string_view head) {
  // Status line: HTTP/1.x SP 3DIGIT SP reason
  auto const eol = head.find("\r\n");
  auto const status_line = head.substr(0, eol);
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ')
    return fail("malformed status line: " + std::string(status_line.substr(0, 60)));
  unsigned status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (status_line[i] < '0' || status_line[i] > '9')
      return fail("malformed status line: " + std::string(status_line.substr(0, 60)));
    status = status * 10 + static_cast<unsigned>(status_line[i] - '0');
  }
  status_ = status;
  bool const http10 = status_line.starts_with("HTTP/1.0");
  std::string_view rest = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 2);
  bool has_length = false;
  while (!rest.empty()) {
    auto const end = rest.find("\r\n");
    auto const field_line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 2);
    auto const colon = field_line.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return fail("malformed header line: " + std::string(field_line.substr(0, 60)));
    auto const name = field_line.substr(0, colon);
    auto const value = trim(field_line.substr(colon + 1));
    if (iequals(name, "Transfer-Encoding")) {
      // The last coding is what frames the body; crier sends "chunked" alone.
      auto const last = trim(value.substr(value.rfind(',') == std::string_view::npos ? 0 : value.rfind(',') + 1));
      chunked_ = iequals(last, "chunked");
    } else if (iequals(name, "Content-Type")) {
      content_type_.assign(value);
    } else if (iequals(name, "Content-Length")) {
      has_length = true;
    }
  }
  if (status_ != 200)
    return fail("HTTP status " + std::to_string(status_) + " " +
                std::string(status_line.substr(std::min<std::size_t>(13, status_line.size()))));
  auto const type = std::string_view(content_type_).substr(0, content_type_.find(';'));
  if (!iequals(trim(type), "text/event-stream")) return fail("Content-Type is not text/event-stream: " + content_type_);
  if (!chunked_ && !http10)
    return fail(has_length ? "an event stream with a Content-Length" : "HTTP/1.1 event stream not chunked");
  return true;
}

bool json_unescape(std::string_view s, std::string& out) {
  out.clear();
  std::size_t i = 0;
  auto const n = s.size();
  while (i < n) {
    auto const start = i;
    while (i < n && s[i] != '\\' && static_cast<unsigned char>(s[i]) >= 0x20) ++i;
    out.append(s.substr(start, i - start));
    if (i == n) break;
    if (s[i] != '\\') return false; // a raw control character
    if (++i == n) return false;
    switch (s[i++]) {
    case '"':
      out += '"';
      break;
    case '\\':
      out += '\\';
      break;
    case '/':
      out += '/';
      break;
    case 'b':
      out += '\b';
      break;
    case 'f':
      out += '\f';
      break;
    case 'n':
      out += '\n';
      break;
    case 'r':
      out += '\r';
      break;
    case 't':
      out += '\t';
      break;
    case 'u': {
      std::uint32_t cp = 0;
      if (!read_u16(s, i, cp)) return false;
      i += 4;
      if (cp >= 0xdc00 && cp <= 0xdfff) return false; // a low surrogate first
      if (cp >= 0xd800 && cp <= 0xdbff) {
        std::uint32_t low = 0;
        if (i + 2 > n || s[i] != '\\' || s[i + 1] != 'u' || !read_u16(s, i + 2, low) || low < 0xdc00 || low > 0xdfff)
          return false; // a lone high surrogate
        i += 6;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
      }
      put_utf8(out, cp);
      break;
    }
    default:
      return false;
    }
  }
  return true;
}

message_text read_message_text(std::string_view json, std::string& scratch) {
  constexpr std::string_view type_key = R"({"type":")";
  constexpr std::string_view message_head = R"({"type":"message",)";
  constexpr std::string_view text_key = R"(,"text":")";
  if (!json.starts_with(type_key) || json.back() != '}') return {};
  if (!json.starts_with(message_head)) return {crier_event::other, {}};
  // Inside a JSON string every '"' is escaped, so the first `,"text":"` is the member's key, not
  // part of the sender's name.
  auto const key = json.find(text_key, message_head.size() - 1);
  if (key == std::string_view::npos) return {};
  auto const begin = key + text_key.size();
  // The closing quote: the first '"' not escaped (an escape's second character is skipped).
  bool had_escape = false;
  auto end = begin;
  for (; end < json.size(); ++end) {
    char const c = json[end];
    if (c == '"') break;
    if (c == '\\') {
      had_escape = true;
      ++end;
    }
  }
  if (end + 1 >= json.size() || (json[end + 1] != '}' && json[end + 1] != ',')) return {};
  auto const body = json.substr(begin, end - begin);
  if (!had_escape) {
    for (char c : body)
      if (static_cast<unsigned char>(c) < 0x20) return {};
    return {crier_event::message, body};
  }
  if (!json_unescape(body, scratch)) return {};
  return {crier_event::message, scratch};
}

} // namespace crier::bench
