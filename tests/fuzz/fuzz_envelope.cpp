// Fuzzes the envelope decoder with the input as bytes read off a room's Redis channel or stream:
// it must never crash, and whatever it accepts must survive a round trip (encoding what was
// decoded and decoding that again gives the same envelope), so no two nodes can read one
// envelope two ways.
#include "common/envelope.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view const input(reinterpret_cast<char const*>(data), size);
  auto const decoded = crier::decode_envelope(input);
  if (!decoded) return 0;
  auto const again = crier::decode_envelope(crier::encode(*decoded));
  CRIER_FUZZ_CHECK(again.has_value());
  CRIER_FUZZ_CHECK(again->type == decoded->type);
  CRIER_FUZZ_CHECK(again->seq == decoded->seq);
  CRIER_FUZZ_CHECK(again->node == decoded->node);
  CRIER_FUZZ_CHECK(again->ts == decoded->ts);
  CRIER_FUZZ_CHECK(again->from.id == decoded->from.id);
  CRIER_FUZZ_CHECK(again->from.name == decoded->from.name);
  CRIER_FUZZ_CHECK(again->from.user == decoded->from.user);
  CRIER_FUZZ_CHECK(again->payload == decoded->payload);
  return 0;
}
