#include "server/http/probes.hpp"

#include "server/net.hpp"
#include "server/server_state.hpp"

#include <boost/beast/http/field.hpp>

namespace crier {

bool is_probe_path(std::string_view path) noexcept {
  return path == "/healthz" || path == "/readyz" || path == "/metrics";
}

text_response_type probe_response(http_request const& req, std::string_view path, server_state& state) {
  if (req.method() != http::verb::get && req.method() != http::verb::head)
    return method_not_allowed(req.version(), req.keep_alive());
  auto status = http::status::ok;
  std::string body = "ok";
  std::string_view type = "text/plain; charset=utf-8";
  if (path == "/readyz") {
    if (auto reason = state.not_ready_reason()) {
      status = http::status::service_unavailable;
      body = *reason;
    } else {
      body = "ready";
    }
  } else if (path == "/metrics") {
    body = state.metrics().render(state.gauges());
    type = "text/plain; version=0.0.4; charset=utf-8";
  }
  auto res = text_response(status, std::move(body), req.version(), req.keep_alive(), type);
  res.set(http::field::cache_control, "no-store");
  if (req.method() == http::verb::head) res.body().clear();
  return res;
}

} // namespace crier
