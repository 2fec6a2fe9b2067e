// Fuzzes the crier.v1 decoder with the input as a client's text frame: it must never crash, and
// what it returns must be consistent (a message's text renders back into a message event that
// parses to the same text; a members page is bounded and sorted; an error has a known code and a reason). The same input, as a display
// name and as a query string, exercises name validation and query parsing: an accepted name is
// valid UTF-8, trimmed, at most 32 characters, and free of control characters.
#include "common/names.hpp"
#include "common/protocol.hpp"
#include "common/query.hpp"
#include "common/utf8.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <boost/json/parse.hpp>

#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view const input(reinterpret_cast<char const*>(data), size);
  crier::member_info const from{"id", "name", "user"};

  auto const message = crier::decode_client_message(input);
  if (auto const* send = std::get_if<crier::send_text_request>(&message)) {
    // Boost.JSON only yields valid UTF-8 strings, so the text round-trips through an event.
    CRIER_FUZZ_CHECK(crier::is_valid_utf8(send->text));
    auto const event = boost::json::parse(crier::render_message(1, 2, from, send->text)).as_object();
    CRIER_FUZZ_CHECK(event.at("text").as_string() == send->text);
  } else if (auto const* history = std::get_if<crier::history_request>(&message)) {
    CRIER_FUZZ_CHECK(history->limit >= 1 && history->limit <= crier::max_history_page);
  } else if (auto const* members = std::get_if<crier::members_request>(&message)) {
    // A page over a few fixed members honours the request's bounds and renders as valid JSON.
    CRIER_FUZZ_CHECK(members->limit >= 1 && members->limit <= crier::max_members_page);
    crier::member_info const a{"a", "Ann"}, b{"b", "bob"}, c{"c", "Cy"};
    auto const page = crier::page_members({&c, &a, &b}, *members);
    CRIER_FUZZ_CHECK(page.members.size() <= members->limit);
    for (std::size_t i = 1; i < page.members.size(); ++i) CRIER_FUZZ_CHECK(page.members[i - 1]->id < page.members[i]->id);
    for (auto const* m : page.members) CRIER_FUZZ_CHECK(members->after.empty() || m->id > members->after);
    CRIER_FUZZ_CHECK(page.next.empty() || page.next == page.members.back()->id);
    boost::system::error_code ec;
    boost::json::parse(crier::render_members_page(3, page.members, page.next), ec);
    CRIER_FUZZ_CHECK(!ec || !crier::is_valid_utf8(page.next));
  } else if (auto const* refresh = std::get_if<crier::refresh_request>(&message)) {
    // The token is passed on to the verifier as it is; it only has to be a string.
    CRIER_FUZZ_CHECK(crier::is_valid_utf8(refresh->token));
  } else {
    auto const& error = std::get<crier::protocol_error>(message);
    CRIER_FUZZ_CHECK(error.code == "invalid_json" || error.code == "unknown_type" || error.code == "invalid_field");
    CRIER_FUZZ_CHECK(!error.reason.empty());
    // The reason may quote the client's input; it must still render as valid JSON.
    boost::system::error_code ec;
    boost::json::parse(crier::render_error(error.code, error.reason), ec);
    CRIER_FUZZ_CHECK(!ec || !crier::is_valid_utf8(error.reason));
  }

  std::string why;
  if (auto const name = crier::validate_display_name(input, why)) {
    CRIER_FUZZ_CHECK(!name->empty() && crier::is_valid_utf8(*name));
    CRIER_FUZZ_CHECK(name->front() != ' ' && name->back() != ' ');
    std::size_t chars = 0;
    for (char ch : *name) {
      auto const c = static_cast<unsigned char>(ch);
      if ((c & 0xC0) != 0x80) ++chars;
      CRIER_FUZZ_CHECK(c >= 0x20 && c != 0x7F);
    }
    CRIER_FUZZ_CHECK(chars <= crier::max_display_name_length);
  } else {
    CRIER_FUZZ_CHECK(!why.empty());
  }

  auto const target = "/ws/room?" + std::string(input);
  if (auto const value = crier::query_param(target, "name")) CRIER_FUZZ_CHECK(value->size() <= input.size());
  return 0;
}
