#pragma once
// Small ASCII text helpers shared by the parsers in common/ and the server.

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace crier {

// ASCII lower case (HTTP tokens, units, origins).
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// `text` on one line: CLI11 words some errors over several lines, and a usage error is one line.
inline std::string one_line(std::string text) {
  for (auto& c : text)
    if (c == '\n') c = ' ';
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// Calls f(item) for each item of a comma-separated header list ("a, b,c"), trimmed of spaces and
// tabs, until f returns true; returns whether it did.
template <class F>
bool find_in_list(std::string_view list, F f) {
  while (!list.empty()) {
    auto const comma = list.find(',');
    auto item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (f(item)) return true;
  }
  return false;
}

} // namespace crier
