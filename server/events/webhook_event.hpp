#pragma once
// The webhook wire format, spelled once: a room event numbered for the queue, its id, and the
// JSON body of one request. docs/webhooks.md shows it to the receiver's authors.
//
//   {"events":[
//     {"id":"<boot>-<n>","type":"join","room":"lobby","ts":1700000000000,"member":{"id":..,"name":..,"user":..}},
//     {"id":..,"type":"message","room":..,"ts":..,"seq":7,"from":{..},"text":".."},
//     {"id":..,"type":"room_occupied","room":..,"ts":..}]}

#include "server/rooms/room_events.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace crier {

// An event in the webhook queue: `n` counts every event this process queued, from 1.
struct numbered_event {
  std::uint64_t n = 0;
  room_event e;
};

// The event's id, "<boot>-<n>": `boot` is random per process (and so per node), so ids are unique
// across nodes and restarts, and a receiver deduplicates retries by it.
std::string webhook_event_id(std::string_view boot, std::uint64_t n);

// One request's body: the events, oldest first.
std::string render_webhook_body(std::string_view boot, std::span<numbered_event const> events);

} // namespace crier
