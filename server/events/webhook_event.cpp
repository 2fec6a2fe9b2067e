#include "server/events/webhook_event.hpp"

namespace crier {

namespace {

void append_event(std::string& out, std::string_view boot, numbered_event const& ne) {
  auto const& e = ne.e;
  out += R"({"id":")";
  out += webhook_event_id(boot, ne.n);
  out += R"(","type":")";
  out += to_string(e.type);
  out += R"(","room":)";
  out += json_string(e.room);
  out += R"(,"ts":)";
  out += std::to_string(e.ts);
  switch (e.type) {
  case event_type::join:
  case event_type::leave:
    out += R"(,"member":)";
    append_member_json(out, e.member);
    break;
  case event_type::message:
    if (e.seq > 0) {
      out += R"(,"seq":)";
      out += std::to_string(e.seq);
    }
    out += R"(,"from":)";
    append_member_json(out, e.member);
    out += R"(,"text":)";
    out += json_string(e.text ? std::string_view(*e.text) : std::string_view{});
    break;
  case event_type::room_occupied:
  case event_type::room_vacated: break;
  }
  out += '}';
}

} // namespace

std::string webhook_event_id(std::string_view boot, std::uint64_t n) {
  std::string id(boot);
  id += '-';
  id += std::to_string(n);
  return id;
}

std::string render_webhook_body(std::string_view boot, std::span<numbered_event const> events) {
  std::string out = R"({"events":[)";
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i > 0) out += ',';
    append_event(out, boot, events[i]);
  }
  out += "]}";
  return out;
}

} // namespace crier
