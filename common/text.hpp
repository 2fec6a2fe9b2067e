#pragma once
// Small ASCII text helpers shared by the parsers in common/.

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

} // namespace crier
