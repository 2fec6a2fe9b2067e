// crier: parse the configuration, set up logging, run the server. Start-up errors end here with
// a message and a non-zero status; nothing is half-started.

#include "common/config.hpp"
#include "server/http/healthcheck.hpp"
#include "server/logging.hpp"
#include "server/server.hpp"
#include "server/token_command.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <string_view>
#include <variant>

int main(int argc, char** argv) {
  // `crier healthcheck [URL]` probes a running crier (for container health checks) and exits.
  if (argc > 1 && std::string_view(argv[1]) == "healthcheck") return crier::run_healthcheck({argv + 2, argv + argc});
  // `crier token --secret S --sub ID ...` signs a token for --token-secret and exits.
  if (argc > 1 && std::string_view(argv[1]) == "token")
    return crier::run_token_command({argv + 2, argv + argc}, std::cout, std::cerr);
  auto parsed = crier::parse_command_line(argc, argv);
  if (auto const* e = std::get_if<crier::early_exit>(&parsed)) {
    std::fputs(e->output.c_str(), e->status == 0 ? stdout : stderr);
    return e->status;
  }
  auto& cfg = std::get<crier::config>(parsed);
  crier::setup_logging(cfg.log_level, cfg.log_format);
  try {
    crier::server server(std::move(cfg));
    return server.run();
  } catch (std::exception const& e) {
    crier::log_event(spdlog::level::critical, e.what());
    return 1;
  }
}
