#include "common/handshake.hpp"

#include <algorithm>

namespace crier {

bool is_valid_websocket_key(std::string_view key) noexcept {
  if (key.size() != 24 || !key.ends_with("==")) return false;
  return std::ranges::all_of(key.substr(0, 22), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
  });
}

} // namespace crier
