// The server API's bodies (common/api_body.hpp): whatever a caller POSTs decodes to a publish or
// a disconnect that honours the limits, or to an error with a message; never a crash.
#include "common/api_body.hpp"
#include "common/names.hpp"
#include "common/utf8.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view const input(reinterpret_cast<char const*>(data), size);
  constexpr std::size_t max_text = 64;
  auto const publish = crier::parse_publish_body(input, max_text);
  if (auto const* body = std::get_if<crier::publish_body>(&publish)) {
    CRIER_FUZZ_CHECK(body->text.size() <= max_text);
    CRIER_FUZZ_CHECK(crier::is_valid_utf8(body->text));
    CRIER_FUZZ_CHECK(body->user.empty() || crier::is_valid_user_id(body->user));
    std::string why;
    CRIER_FUZZ_CHECK(body->name.empty() || crier::validate_display_name(body->name, why) == body->name);
  } else {
    CRIER_FUZZ_CHECK(!std::get<crier::api_body_error>(publish).message.empty());
  }
  auto const disconnect = crier::parse_disconnect_body(input);
  if (auto const* user = std::get_if<std::string>(&disconnect)) CRIER_FUZZ_CHECK(crier::is_valid_user_id(*user));
  else CRIER_FUZZ_CHECK(!std::get<crier::api_body_error>(disconnect).message.empty());
  return 0;
}
