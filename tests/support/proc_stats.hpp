#pragma once
// Reads a process's figures from /proc, for tests that bound the server's memory.

#include <cstdint>
#include <fstream>
#include <string>
#include <sys/types.h>

namespace crier::test {

// Resident set size in bytes (VmRSS), or 0 when unreadable.
inline std::uint64_t rss_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// True when this test binary (and so the server next to it) was built with AddressSanitizer,
// whose quarantine keeps freed memory resident and makes RSS meaningless as a bound.
constexpr bool built_with_asan() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#else
  return false;
#endif
}

} // namespace crier::test
