#include "common/names.hpp"

#include "common/utf8.hpp"

#include <algorithm>

namespace crier {

bool is_valid_room_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_room_name_length) return false;
  // "." and ".." (and any name of dots only) read as path segments to every proxy, log reader
  // and URL normaliser on the way: /ws/.. is /ws/ to some of them.
  if (name.find_first_not_of('.') == std::string_view::npos) return false;
  return std::ranges::all_of(name, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

namespace {

// "<prefix>" or "<prefix>/" is the default room, "<prefix>/<room>" a named one.
std::optional<std::string> room_from_path(std::string_view path, std::string_view prefix) {
  if (!path.starts_with(prefix)) return std::nullopt;
  auto const rest = path.substr(prefix.size());
  if (rest.empty() || rest == "/") return std::string(default_room);
  if (rest.front() != '/') return std::nullopt;
  auto const name = rest.substr(1);
  if (!is_valid_room_name(name)) return std::string();
  return std::string(name);
}

} // namespace

std::optional<std::string> room_from_ws_path(std::string_view path) { return room_from_path(path, "/ws"); }

std::optional<std::string> room_from_sse_path(std::string_view path) { return room_from_path(path, "/sse"); }

namespace {

// Decodes one UTF-8 sequence at `s[i]`, advancing i; returns -1 when it is not well-formed
// (overlong forms, surrogates and values past U+10FFFF included).
long decode_utf8(std::string_view s, std::size_t& i) {
  auto const byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char const c = byte(i);
  if (c < 0x80) {
    ++i;
    return c;
  }
  int len = 0;
  long cp = 0;
  long min = 0;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
    min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
    min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
    min = 0x10000;
  } else {
    return -1;
  }
  if (i + static_cast<std::size_t>(len) > s.size()) return -1;
  for (int k = 1; k < len; ++k) {
    unsigned char const cc = byte(i + static_cast<std::size_t>(k));
    if ((cc & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  i += static_cast<std::size_t>(len);
  return cp;
}

// Code points that change how the text around them is shown without being seen themselves:
// bidirectional embeddings, overrides and isolates (U+202E makes "ann" of "nna"), the marks,
// zero-width characters (two names that look the same) and the line and paragraph separators
// (a name that breaks the page's line). A name with one could pass for another member's.
bool is_invisible_format_char(long cp) {
  return cp == 0x061C || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202E) ||
         (cp >= 0x2060 && cp <= 0x2069) || cp == 0xFEFF;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

} // namespace

std::optional<std::string> validate_display_name(std::string_view raw, std::string& error) {
  while (!raw.empty() && is_space(raw.front())) raw.remove_prefix(1);
  while (!raw.empty() && is_space(raw.back())) raw.remove_suffix(1);
  if (raw.empty()) {
    error = "name must not be empty";
    return std::nullopt;
  }
  std::size_t chars = 0;
  for (std::size_t i = 0; i < raw.size();) {
    long const cp = decode_utf8(raw, i);
    if (cp < 0) {
      error = "name is not valid UTF-8";
      return std::nullopt;
    }
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
      error = "name must not contain control characters";
      return std::nullopt;
    }
    if (is_invisible_format_char(cp)) {
      error = "name must not contain invisible formatting characters (bidi controls, zero-width, line separators)";
      return std::nullopt;
    }
    ++chars;
  }
  if (chars > max_display_name_length) {
    error = "name is longer than 32 characters";
    return std::nullopt;
  }
  return std::string(raw);
}

bool is_valid_user_id(std::string_view user) noexcept {
  if (user.empty() || user.size() > max_user_id_length || !is_valid_utf8(user)) return false;
  for (std::size_t i = 0; i < user.size(); ++i) {
    auto const c = static_cast<unsigned char>(user[i]);
    if (c < 0x20 || c == 0x7F) return false;
    // U+0080-U+009F are encoded as C2 80 - C2 9F.
    if (c == 0xC2 && i + 1 < user.size() && static_cast<unsigned char>(user[i + 1]) <= 0x9F) return false;
  }
  return true;
}

} // namespace crier
