// Differential fuzzing of crier::is_valid_utf8 against Beast's incremental checker, which
// implements the same rules independently: they must agree on every input, and Beast's answer
// must not depend on where the input is split (the first input byte picks the split point), which
// is how UTF-8 arrives across WebSocket fragments.
#include "common/utf8.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <boost/beast/websocket/detail/utf8_checker.hpp>

#include <algorithm>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t const split = std::min<std::size_t>(data[0], size - 1);
  ++data;
  --size;

  namespace detail = boost::beast::websocket::detail;
  bool const ours = crier::is_valid_utf8(std::string_view(reinterpret_cast<char const*>(data), size));
  bool const beast_whole = detail::check_utf8(reinterpret_cast<char const*>(data), size);
  CRIER_FUZZ_CHECK(ours == beast_whole);

  detail::utf8_checker checker;
  bool const beast_split = checker.write(data, split) && checker.write(data + split, size - split) && checker.finish();
  CRIER_FUZZ_CHECK(beast_split == beast_whole);
  return 0;
}
