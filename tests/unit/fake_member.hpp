#pragma once
// A room member and the small helpers the room and registry tests share: a fake session that
// records what it was delivered and how it was closed.

#include "server/rooms/room.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace crier::test {

struct fake_member final : room_member {
  explicit fake_member(wire_format f = wire_format::raw, std::string id = "id", std::string name = "name")
    : fmt(f), who{std::move(id), std::move(name)} {}
  wire_format fmt;
  member_info who;
  permissions perms = all_permissions;
  bool streams = false; // an event stream (SSE)
  bool follows = false; // took permessage-deflate and lets the server keep its context
  std::vector<frame> received;
  std::vector<std::uint16_t> closes;
  void deliver(frame const& f) override { received.push_back(f); }
  void close(std::uint16_t code, std::string_view) override { closes.push_back(code); }
  wire_format format() const noexcept override { return fmt; }
  member_info const& info() const noexcept override { return who; }
  permissions granted() const noexcept override { return perms; }
  bool streams_events() const noexcept override { return streams; }
  bool deflates() const noexcept override { return follows; }
  bool follows_deflate_stream() const noexcept override { return follows; }

  // The i-th delivery, parsed: for JSON members.
  boost::json::object event(std::size_t i) const { return boost::json::parse(*received.at(i).payload).as_object(); }
};

inline std::shared_ptr<std::string const> text(std::string s) {
  return std::make_shared<std::string const>(std::move(s));
}
inline member_info const alice{"a1", "alice"};

} // namespace crier::test
