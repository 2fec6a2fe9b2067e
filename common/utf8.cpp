#include "common/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace crier {

namespace {

// The length of the well-formed UTF-8 sequence at p (of n > 0 bytes), or 0 when it is not one.
std::size_t sequence_length(unsigned char const* p, std::size_t n) noexcept {
  unsigned char const c = p[0];
  if (c < 0x80) return 1;
  // The lead byte gives the length and the range of the second byte (RFC 3629 section 4);
  // the narrowed ranges exclude overlong forms, surrogates and code points over U+10FFFF.
  std::size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c == 0xE0) {
    len = 3;
    lo = 0xA0;
  } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
    len = 3;
  } else if (c == 0xED) {
    len = 3;
    hi = 0x9F;
  } else if (c == 0xF0) {
    len = 4;
    lo = 0x90;
  } else if (c >= 0xF1 && c <= 0xF3) {
    len = 4;
  } else if (c == 0xF4) {
    len = 4;
    hi = 0x8F;
  } else {
    return 0; // a continuation byte, C0, C1 or F5-FF
  }
  if (n < len) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (std::size_t k = 2; k < len; ++k)
    if ((p[k] & 0xC0) != 0x80) return 0;
  return len;
}

} // namespace

bool is_valid_utf8(std::string_view text) noexcept {
  auto const* const p = reinterpret_cast<unsigned char const*>(text.data());
  std::size_t const n = text.size();
  std::size_t i = 0;
  while (i < n) {
    // ASCII runs, eight bytes at a time.
    if (n - i >= 8) {
      std::uint64_t word;
      std::memcpy(&word, p + i, sizeof word);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    std::size_t const len = sequence_length(p + i, n - i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

bool ends_in_complete_utf8(std::string_view valid_prefix) noexcept {
  auto const* const p = reinterpret_cast<unsigned char const*>(valid_prefix.data());
  std::size_t const n = valid_prefix.size();
  // Back over the continuation bytes (10xxxxxx) to the lead byte of the last sequence.
  std::size_t lead = n;
  for (std::size_t back = 1; back <= 4 && back <= n; ++back) {
    if ((p[n - back] & 0xC0) != 0x80) {
      lead = n - back;
      break;
    }
  }
  if (lead == n) return n == 0; // empty, or no lead byte where a valid prefix must have one
  unsigned char const b = p[lead];
  std::size_t const need = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
  return n - lead == need;
}

std::string replace_invalid_utf8(std::string_view text) {
  auto const* const p = reinterpret_cast<unsigned char const*>(text.data());
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    std::size_t const len = sequence_length(p + i, text.size() - i);
    if (len == 0) {
      out += "\xEF\xBF\xBD"; // U+FFFD for this byte; the next byte starts afresh
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

} // namespace crier
