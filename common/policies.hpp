#pragma once
// The fixed sets of values some flags choose from, as enums. config.cpp parses each flag's text
// once, at start-up; the code that applies a policy switches on the enum, and to_string gives
// back the flag's own spelling for the log lines that name it.

#include <array>
#include <cstddef>
#include <string_view>

namespace crier {

// --slow-consumer: what a session's outbound queue does past its bounds.
enum class overflow_policy {
  close,       // close the session with 1008 "slow consumer"; nothing queued after that is sent
  drop_oldest, // drop frames from the head of the queue and count them
};

// --rate-limit-action: what happens to a message over the rate limit.
enum class rate_policy {
  close, // close the session with 1008
  drop,  // drop the message; a JSON client gets an error event
};

// --log-format: how log lines are written.
enum class log_encoding {
  text, // a message and key=value fields
  json, // one JSON object per line
};

// Each enum's flag spellings, in the order of its values: the one list config.cpp accepts and
// to_string prints.
inline constexpr std::array<std::string_view, 2> overflow_policy_names{"close", "drop-oldest"};
inline constexpr std::array<std::string_view, 2> rate_policy_names{"close", "drop"};
inline constexpr std::array<std::string_view, 2> log_encoding_names{"text", "json"};

constexpr std::string_view to_string(overflow_policy p) noexcept {
  return overflow_policy_names[static_cast<std::size_t>(p)];
}
constexpr std::string_view to_string(rate_policy p) noexcept { return rate_policy_names[static_cast<std::size_t>(p)]; }
constexpr std::string_view to_string(log_encoding e) noexcept {
  return log_encoding_names[static_cast<std::size_t>(e)];
}

} // namespace crier
