#pragma once
// Parsing of the human-friendly values that flags take: byte sizes ("64KiB") and durations ("10s").

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace crier {

// Accepts a whole number with an optional unit: B, K/KB/KiB, M/MB/MiB, G/GB/GiB (all binary,
// case-insensitive). Returns nullopt for anything else, including overflow.
std::optional<std::uint64_t> parse_size(std::string_view text);

// Accepts a non-negative decimal number with an optional unit: ms, s (the default), m, h.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

} // namespace crier
