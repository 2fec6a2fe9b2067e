// The frame tracker reads every byte a client sends, before Beast has judged it. On any bytes it
// must not crash or hit undefined behaviour, and what it concludes must not depend on how the
// bytes were cut into reads: the same input fed whole and in pieces (the first two input bytes
// pick the piece sizes) must end with the same message count and the same "at a message end".
// whole_pongs() sees the same untrusted bytes.
#include "server/session/frame_tracker.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <algorithm>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  if (size < 2) return 0;
  std::size_t const piece_a = std::size_t{data[0]} + 1;
  std::size_t const piece_b = std::size_t{data[1]} % 16 + 1;
  data += 2;
  size -= 2;

  crier::frame_tracker whole;
  whole.consume(data, size);

  crier::frame_tracker pieces;
  std::size_t at = 0;
  for (bool a = true; at < size; a = !a) {
    auto const n = std::min(a ? piece_a : piece_b, size - at);
    pieces.consume(data + at, n);
    at += n;
  }
  CRIER_FUZZ_CHECK(pieces.messages() == whole.messages());
  CRIER_FUZZ_CHECK(pieces.at_message_end() == whole.at_message_end());
  // A message end needs at least one message.
  CRIER_FUZZ_CHECK(!whole.at_message_end() || whole.messages() > 0 || size == 0);

  auto const pongs = crier::whole_pongs(data, size);
  CRIER_FUZZ_CHECK(pongs == 0 || pongs == size);
  if (pongs == size && size > 0) {
    // Pongs only: no message, and not at a message end (a control frame came last).
    CRIER_FUZZ_CHECK(whole.messages() == 0 && !whole.at_message_end());
  }
  return 0;
}
