#pragma once
// /healthz, /readyz and /metrics: what load balancers, orchestrators and Prometheus ask. They need
// no token, so that those can use them without one.

#include "server/http/request.hpp"
#include "server/http/responses.hpp"

#include <string_view>

namespace crier {

class server_state;

bool is_probe_path(std::string_view path) noexcept;

// The answer to a probe at `path` (one that is_probe_path accepts); 405 unless GET or HEAD.
text_response_type probe_response(http_request const& req, std::string_view path, server_state& state);

} // namespace crier
