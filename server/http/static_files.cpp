#include "server/http/static_files.hpp"

#include "common/access.hpp"
#include "common/mime_types.hpp"
#include "common/static_path.hpp"
#include "server/logging.hpp"
#include "server/net.hpp"
#include "server/server_state.hpp"

#include <boost/beast/http/field.hpp>

#include <filesystem>
#include <tuple>

namespace crier {

static_file_response static_file(http_request const& req, server_state& state, std::string_view peer) {
  auto const resolved = resolve_static_path(state.cfg().static_dir, req.target());
  if (auto const* err = std::get_if<static_path_error>(&resolved)) {
    switch (*err) {
    case static_path_error::bad_request:
      return text_response(http::status::bad_request, "bad request target", req.version(), false);
    case static_path_error::forbidden:
      log_info("http refused a path outside the static dir", {{"peer", peer}, {"target", redact_target(req.target())}});
      return text_response(http::status::forbidden, "forbidden", req.version(), req.keep_alive());
    case static_path_error::not_found:
      return text_response(http::status::not_found, "not found", req.version(), req.keep_alive());
    }
  }
  auto const& path = std::get<std::filesystem::path>(resolved);

  beast::error_code ec;
  http::file_body::value_type file;
  file.open(path.c_str(), beast::file_mode::scan, ec);
  if (ec) return text_response(http::status::not_found, "not found", req.version(), req.keep_alive());
  auto const size = file.size();

  auto const set_headers = [&](auto& res) {
    res.set(http::field::server, server_header);
    res.set(http::field::content_type, mime_type(path.native()));
    res.set(http::field::cache_control, "no-cache");
    res.set("X-Content-Type-Options", "nosniff");
    res.keep_alive(req.keep_alive());
  };
  if (req.method() == http::verb::head) {
    http::response<http::empty_body> res{http::status::ok, req.version()};
    set_headers(res);
    res.content_length(size);
    return res;
  }
  http::response<http::file_body> res{std::piecewise_construct, std::make_tuple(std::move(file)),
                                      std::make_tuple(http::status::ok, req.version())};
  set_headers(res);
  res.content_length(size);
  return res;
}

} // namespace crier
