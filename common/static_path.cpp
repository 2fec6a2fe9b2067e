#include "common/static_path.hpp"

#include <system_error>

namespace crier {
namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_within(std::filesystem::path const& root, std::filesystem::path const& p) {
  auto r = root.begin();
  auto i = p.begin();
  for (; r != root.end(); ++r, ++i) {
    if (i == p.end() || *r != *i) return false;
  }
  return true;
}

} // namespace

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int const hi = hex_value(in[i + 1]);
    int const lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

std::string_view target_path(std::string_view target) noexcept {
  auto const end = target.find_first_of("?#");
  return end == std::string_view::npos ? target : target.substr(0, end);
}

std::variant<std::filesystem::path, static_path_error> resolve_static_path(
  std::filesystem::path const& root, std::string_view target) {
  namespace fs = std::filesystem;
  auto const raw = target_path(target);
  if (raw.empty() || raw.front() != '/') return static_path_error::bad_request;

  std::string decoded;
  if (!percent_decode(raw, decoded)) return static_path_error::bad_request;

  // Build the relative path one checked segment at a time. Empty segments ("//") are skipped, so
  // nothing can become an absolute path; "." and ".." are refused outright rather than
  // normalised, because a legitimate page never sends them.
  fs::path relative;
  std::size_t start = 1;
  bool trailing_slash = decoded.size() == 1 || decoded.back() == '/';
  while (start <= decoded.size()) {
    auto const slash = decoded.find('/', start);
    auto const end = slash == std::string::npos ? decoded.size() : slash;
    std::string_view const segment(decoded.data() + start, end - start);
    start = end + 1;
    if (segment.empty()) continue;
    if (segment == "." || segment == "..") return static_path_error::forbidden;
    if (segment.find_first_of(std::string_view("\\\0:", 3)) != std::string_view::npos)
      return static_path_error::forbidden;
    relative /= fs::path(segment);
  }
  // An encoded "/" decodes to a separator that the raw target hid; refuse it rather than guess.
  if (raw.find("%2f") != std::string_view::npos || raw.find("%2F") != std::string_view::npos ||
      raw.find("%5c") != std::string_view::npos || raw.find("%5C") != std::string_view::npos)
    return static_path_error::forbidden;

  fs::path candidate = root / relative;
  std::error_code ec;
  if (trailing_slash || fs::is_directory(candidate, ec)) candidate /= "index.html";

  // Symlinks are followed, and whatever they lead to must still be inside the root.
  auto const resolved = fs::canonical(candidate, ec);
  if (ec) return static_path_error::not_found;
  if (!is_within(root, resolved)) return static_path_error::forbidden;
  if (!fs::is_regular_file(resolved, ec)) return static_path_error::not_found;
  return resolved;
}

} // namespace crier
