#include "common/identity.hpp"

#include <random>

namespace crier {

std::string random_hex(std::size_t digits) {
  thread_local std::mt19937_64 generator{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }()};
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(digits, '0');
  std::uint64_t bits = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    if (i % 16 == 0) bits = generator();
    out[i] = hex[bits & 0xF];
    bits >>= 4;
  }
  return out;
}

} // namespace crier
