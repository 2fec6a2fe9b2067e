#include "common/mime_types.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace crier {

std::string_view mime_type(std::string_view path) noexcept {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 20> types{{
    {".html", "text/html; charset=utf-8"},
    {".htm", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".txt", "text/plain; charset=utf-8"},
    {".md", "text/markdown; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".webp", "image/webp"},
    {".ico", "image/x-icon"},
    {".woff", "font/woff"},
    {".woff2", "font/woff2"},
    {".ttf", "font/ttf"},
    {".wasm", "application/wasm"},
    {".webmanifest", "application/manifest+json"},
  }};
  auto const dot = path.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  auto const ext = path.substr(dot);
  for (auto const& [e, type] : types) {
    if (e.size() == ext.size() && std::ranges::equal(e, ext, [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        }))
      return type;
  }
  return "application/octet-stream";
}

} // namespace crier
