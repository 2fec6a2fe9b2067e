// The event stream's wire format (common/sse): a Last-Event-ID from anyone is parsed or refused,
// and an event, whatever its bytes, is written as lines a client reads back to the same data.
#include "common/sse.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view const input(reinterpret_cast<char const*>(data), size);

  // An id that parses formats back to an id that parses to the same place.
  if (auto const id = crier::parse_event_id(input)) {
    auto const again = crier::parse_event_id(crier::format_event_id(id->epoch, id->seq));
    CRIER_FUZZ_CHECK(again && again->epoch == id->epoch && again->seq == id->seq);
  }

  // An event: "event:", maybe "id:", then data lines, then one blank line; the data lines joined
  // with LF are the input with its line breaks (CRLF, CR, LF) made LF.
  std::string out;
  if (!crier::append_sse_event(out, input, "e1")) {
    CRIER_FUZZ_CHECK(out.empty());
    return 0;
  }
  CRIER_FUZZ_CHECK(out.size() >= 2 && out.ends_with("\n\n"));
  CRIER_FUZZ_CHECK(out.find('\r') == std::string::npos);
  std::string joined;
  bool first_data = true;
  std::string_view rest(out.data(), out.size() - 1); // the blank line's LF left out
  while (!rest.empty()) {
    auto const eol = rest.find('\n');
    CRIER_FUZZ_CHECK(eol != std::string_view::npos);
    auto const line = rest.substr(0, eol);
    rest.remove_prefix(eol + 1);
    if (line.starts_with("data: ")) {
      if (!first_data) joined += '\n';
      joined += line.substr(6);
      first_data = false;
    } else {
      CRIER_FUZZ_CHECK(first_data && (line.starts_with("event: ") || line.starts_with("id: e1:")));
    }
  }
  std::string expected;
  for (std::size_t i = 0; i < input.size(); ++i) {
    if (input[i] == '\r') {
      expected += '\n';
      if (i + 1 < input.size() && input[i + 1] == '\n') ++i;
    } else {
      expected += input[i];
    }
  }
  CRIER_FUZZ_CHECK(joined == expected);
  return 0;
}
