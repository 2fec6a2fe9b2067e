#pragma once
// `crier healthcheck [URL]`: one HTTP(S) GET with a short deadline, for container health checks
// (Docker's HEALTHCHECK, Kubernetes exec probes) on images that have no curl.
//
// Exits 0 when the answer is 200 and 1 otherwise (refused, timed out, another status, a bad URL),
// printing one line that says which: on stdout when healthy, on stderr when not. It never exits
// 2, which Docker reserves.

#include <chrono>
#include <string>
#include <vector>

namespace crier {

inline constexpr std::chrono::seconds healthcheck_timeout{3};

// http://127.0.0.1:${CRIER_PORT:-8080}/healthz: https when CRIER_TLS_CERT is set (crier then
// serves only TLS), and the address in CRIER_ADDRESS when that is a specific one rather than
// 0.0.0.0 or ::.
std::string default_healthcheck_url();

// `args` are the words after "healthcheck": none (the default URL), an http(s):// URL, or a path
// such as /readyz (on the default URL's host and port). Returns the exit status.
int run_healthcheck(std::vector<std::string> const& args);

} // namespace crier
