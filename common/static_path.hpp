#pragma once
// Maps an HTTP request target onto a file under the static directory, refusing every way out of it.

#include <filesystem>
#include <string>
#include <string_view>
#include <variant>

namespace crier {

enum class static_path_error {
  bad_request, // malformed target or encoding (400)
  forbidden,   // an attempt to leave the static directory (403)
  not_found,   // no such regular file inside it (404)
};

// `root` must be an absolute, canonical directory. `target` is the raw request target, query
// included. Percent-escapes are decoded once; encoded slashes, backslashes, NUL bytes, "." and
// ".." segments are refused, and the final file, after following symlinks, must lie under
// `root`. "/" and directory targets map to their index.html.
std::variant<std::filesystem::path, static_path_error> resolve_static_path(
  std::filesystem::path const& root, std::string_view target);

// Decodes %XX escapes; returns false on a malformed escape.
bool percent_decode(std::string_view in, std::string& out);

// The target without its query string or fragment.
std::string_view target_path(std::string_view target) noexcept;

} // namespace crier
