// Fuzzes the HTTP static path resolver with the input as the raw request target, against a
// temporary static directory that has a secret beside it and symlinks leading out of it. Whatever
// the target, a resolved path must be a canonical regular file strictly inside the root. Also
// checks percent_decode (decoding is never longer, and re-encoding then decoding gives the same
// bytes) and target_path (a prefix of the target, without its query or fragment).
#include "common/static_path.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;

// base/root is the static dir; base/outside holds what must never be served.
struct static_tree {
  fs::path base;
  fs::path root;

  static_tree() {
    base = fs::temp_directory_path() / ("crier-fuzz-static-" + std::to_string(::getpid()));
    fs::remove_all(base);
    fs::create_directories(base / "root" / "sub" / "deeper");
    fs::create_directories(base / "root" / "empty-dir");
    fs::create_directories(base / "outside");
    for (auto const* file : {"root/index.html", "root/app.js", "root/style.css", "root/sub/index.html",
                             "root/sub/page.css", "root/sub/deeper/a b.txt", "root/%41.txt", "outside/secret.txt",
                             "outside/index.html", "secret.txt"})
      std::ofstream(base / file) << "x";
    fs::create_symlink(base / "outside" / "secret.txt", base / "root" / "leak.txt");
    fs::create_directory_symlink(base / "outside", base / "root" / "leakdir");
    fs::create_directory_symlink(base, base / "root" / "up");
    fs::create_symlink(base / "root" / "app.js", base / "root" / "alias.js");
    fs::create_symlink(base / "root" / "missing", base / "root" / "dangling");
    root = fs::canonical(base / "root");
  }
  ~static_tree() {
    std::error_code ignored;
    fs::remove_all(base, ignored);
  }
};

char hex_digit(int v) { return "0123456789ABCDEF"[v & 0xf]; }

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  static static_tree const tree;
  std::string_view const target(reinterpret_cast<char const*>(data), size);

  auto const result = crier::resolve_static_path(tree.root, target);
  if (auto const* path = std::get_if<fs::path>(&result)) {
    CRIER_FUZZ_CHECK(path->is_absolute());
    // The root's components are a proper prefix of the path's.
    auto const [r, p] = std::mismatch(tree.root.begin(), tree.root.end(), path->begin(), path->end());
    CRIER_FUZZ_CHECK(r == tree.root.end());
    CRIER_FUZZ_CHECK(p != path->end());
    std::error_code ec;
    CRIER_FUZZ_CHECK(fs::is_regular_file(*path, ec));
    auto const canonical = fs::canonical(*path, ec);
    CRIER_FUZZ_CHECK(!ec && canonical == *path);
  }

  std::string decoded;
  if (crier::percent_decode(target, decoded)) {
    CRIER_FUZZ_CHECK(decoded.size() <= target.size());
    std::string encoded;
    for (char c : decoded) {
      auto const byte = static_cast<unsigned char>(c);
      encoded += '%';
      encoded += hex_digit(byte >> 4);
      encoded += hex_digit(byte);
    }
    std::string again;
    CRIER_FUZZ_CHECK(crier::percent_decode(encoded, again));
    CRIER_FUZZ_CHECK(again == decoded);
  }

  auto const path_part = crier::target_path(target);
  CRIER_FUZZ_CHECK(target.starts_with(path_part));
  CRIER_FUZZ_CHECK(path_part.find_first_of("?#") == std::string_view::npos);
  return 0;
}
