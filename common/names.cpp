#include "common/names.hpp"

#include <algorithm>

namespace crier {

bool is_valid_room_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_room_name_length) return false;
  return std::ranges::all_of(name, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::optional<std::string> room_from_ws_path(std::string_view path) {
  constexpr std::string_view prefix = "/ws";
  if (path == prefix || path == "/ws/") return std::string(default_room);
  if (!path.starts_with("/ws/")) return std::nullopt;
  auto const name = path.substr(prefix.size() + 1);
  if (!is_valid_room_name(name)) return std::string();
  return std::string(name);
}

} // namespace crier
