#pragma once
// What happens in a room that the outside world can be told about (--webhook-events): the event
// types, their spellings (flag values and the payload's "type"), and a set of them.

#include "common/text.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace crier {

enum class event_type : std::uint8_t {
  join,          // a member joined on this node
  leave,         // a member left this node
  message,       // a text message published on this node (by a member or the server API)
  room_occupied, // the room went from no member anywhere to one
  room_vacated,  // the room's last member anywhere left
};

inline constexpr std::array<std::string_view, 5> event_type_names{"join", "leave", "message", "room_occupied",
                                                                  "room_vacated"};

constexpr std::string_view to_string(event_type t) noexcept { return event_type_names[static_cast<std::size_t>(t)]; }

// A set of event types, one bit each.
class event_set {
public:
  constexpr event_set() = default;
  constexpr event_set(std::initializer_list<event_type> types) {
    for (auto t : types) bits_ |= bit(t);
  }
  constexpr bool contains(event_type t) const noexcept { return (bits_ & bit(t)) != 0; }
  constexpr bool empty() const noexcept { return bits_ == 0; }
  constexpr void insert(event_type t) noexcept { bits_ |= bit(t); }
  constexpr bool operator==(event_set const&) const = default;

  // A comma-separated list of event_type_names ("join,leave"); nullopt when a name is unknown or
  // the list is empty.
  static std::optional<event_set> parse(std::string_view list) {
    event_set out;
    bool const bad = find_in_list(list, [&](std::string_view item) {
      for (std::size_t i = 0; i < event_type_names.size(); ++i)
        if (event_type_names[i] == item) {
          out.insert(static_cast<event_type>(i));
          return false;
        }
      return true;
    });
    if (bad || out.empty()) return std::nullopt;
    return out;
  }

private:
  static constexpr std::uint8_t bit(event_type t) noexcept { return static_cast<std::uint8_t>(1U << static_cast<unsigned>(t)); }
  std::uint8_t bits_ = 0;
};

// --webhook-events' default: everything but messages, which are the bulk of the traffic.
inline constexpr event_set default_webhook_events{event_type::join, event_type::leave, event_type::room_occupied,
                                                  event_type::room_vacated};

} // namespace crier
