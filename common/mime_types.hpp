#pragma once
// Content-Type by file extension, for the static files the page is made of.

#include <string_view>

namespace crier {

// The MIME type for a file name; application/octet-stream when the extension is unknown.
std::string_view mime_type(std::string_view path) noexcept;

} // namespace crier
