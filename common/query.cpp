#include "common/query.hpp"

#include "common/static_path.hpp"

namespace crier {
namespace {

// Calls f(key, raw_value) for each parameter until it returns true.
template <class F>
void for_each_param(std::string_view target, F f) {
  auto const q = target.find('?');
  if (q == std::string_view::npos) return;
  auto query = target.substr(q + 1);
  if (auto const hash = query.find('#'); hash != std::string_view::npos) query = query.substr(0, hash);
  while (!query.empty()) {
    auto const amp = query.find('&');
    auto const pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto const eq = pair.find('=');
    auto const key = pair.substr(0, eq);
    auto const value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (f(key, value)) return;
  }
}

} // namespace

std::optional<std::string> query_param(std::string_view target, std::string_view key) {
  std::optional<std::string> result;
  for_each_param(target, [&](std::string_view k, std::string_view v) {
    if (k != key) return false;
    std::string plus_decoded(v);
    for (auto& c : plus_decoded)
      if (c == '+') c = ' ';
    std::string decoded;
    if (percent_decode(plus_decoded, decoded)) result = std::move(decoded);
    return true;
  });
  return result;
}

bool has_query_param(std::string_view target, std::string_view key) {
  bool found = false;
  for_each_param(target, [&](std::string_view k, std::string_view) { return found = (k == key); });
  return found;
}

} // namespace crier
