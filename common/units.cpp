#include "common/units.hpp"
#include "common/text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>

namespace crier {
namespace {

// Splits "64KiB" into its digits and its unit, trimming spaces around both.
std::pair<std::string_view, std::string_view> split_unit(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) != 0 || text[i] == '.')) ++i;
  auto unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  return {text.substr(0, i), unit};
}

} // namespace

std::optional<std::uint64_t> parse_size(std::string_view text) {
  auto [digits, unit] = split_unit(text);
  if (digits.empty() || digits.find('.') != std::string_view::npos) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  std::uint64_t multiplier = 1;
  auto const u = ascii_lower(unit);
  if (u.empty() || u == "b") multiplier = 1;
  else if (u == "k" || u == "kb" || u == "kib") multiplier = 1ULL << 10;
  else if (u == "m" || u == "mb" || u == "mib") multiplier = 1ULL << 20;
  else if (u == "g" || u == "gb" || u == "gib") multiplier = 1ULL << 30;
  else return std::nullopt;
  if (value > std::numeric_limits<std::uint64_t>::max() / multiplier) return std::nullopt;
  return value * multiplier;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  auto [digits, unit] = split_unit(text);
  if (digits.empty() || std::ranges::count(digits, '.') > 1 || digits == ".") return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size() || !std::isfinite(value)) return std::nullopt;
  double ms_per_unit = 0;
  auto const u = ascii_lower(unit);
  if (u == "ms") ms_per_unit = 1;
  else if (u.empty() || u == "s") ms_per_unit = 1000;
  else if (u == "m" || u == "min") ms_per_unit = 60'000;
  else if (u == "h") ms_per_unit = 3'600'000;
  else return std::nullopt;
  double const ms = value * ms_per_unit;
  // A year is far beyond any sensible timeout; refusing more keeps the arithmetic safe.
  if (ms > 365.0 * 24 * 3'600'000) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(ms)));
}

} // namespace crier
