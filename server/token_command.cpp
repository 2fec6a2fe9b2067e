#include "server/token_command.hpp"

#include "common/config.hpp"
#include "common/text.hpp"
#include "common/token.hpp"
#include "common/units.hpp"

#include <CLI/CLI.hpp>

#include <ostream>
#include <string_view>
#include <variant>

namespace crier {

int run_token_command(std::vector<std::string> const& args, std::ostream& out, std::ostream& err,
                      std::chrono::system_clock::time_point now) {
  CLI::App app{"crier token: sign an HS256 token that a crier started with the same --token-secret accepts. "
               "It goes in 'Authorization: Bearer TOKEN' or ?token=TOKEN.",
               "crier token"};
  app.get_formatter()->column_width(30);
  std::string secret, rooms, ttl = "1h";
  token_request request;
  std::string name;
  app.add_option("--secret", secret,
                 "HMAC secret, the server's --token-secret (prefer the environment variable: "
                 "flags show in ps)")
      ->envname("CRIER_TOKEN_SECRET");
  app.add_option("--sub", request.sub, "The user's id (sub claim); required");
  app.add_option("--name", name, "Display name (name claim); wins over ?name=");
  app.add_option("--rooms", rooms,
                 "What the user may do where: ROOM=PERM[,PERM...] separated by ';'. ROOM is a room name or "
                 "a prefix followed by '*' ('*' alone: every room); PERM is subscribe, publish, presence or "
                 "history. Without it the token allows no room");
  app.add_option("--ttl", ttl, "How long the token is valid (e.g. 90s, 15m, 1h); 0: it never expires")
      ->capture_default_str();
  app.add_option("--issuer", request.issuer, "iss claim, for a server with --token-issuer");
  app.add_option("--audience", request.audience, "aud claim, for a server with --token-audience");

  auto const usage = [&](std::string const& message) {
    err << "crier token: " << message << " (see crier token --help)\n";
    return exit_usage;
  };
  std::vector<char const*> argv{"crier token"};
  for (auto const& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (CLI::CallForHelp const&) {
    out << app.help();
    return 0;
  } catch (CLI::ParseError const& e) {
    return usage(one_line(e.what()));
  }

  if (secret.empty()) return usage("--secret (or CRIER_TOKEN_SECRET) is required");
  if (request.sub.empty()) return usage("--sub is required");
  if (app.count("--name") > 0) request.name = name;
  if (app.count("--rooms") > 0) {
    std::string why;
    auto grants = parse_room_grants(rooms, why);
    if (!grants) return usage("--rooms: " + why);
    request.rooms = std::move(*grants);
  }
  auto const lifetime = parse_duration(ttl);
  if (!lifetime) return usage("--ttl: '" + ttl + "' is not a duration (e.g. 90s, 15m, 1h; 0 for no expiry)");
  // Whole seconds, rounded up: a ttl under a second must not become 0, which means no expiry.
  request.ttl = std::chrono::ceil<std::chrono::seconds>(*lifetime);

  std::string token;
  try {
    token = sign_hs256_token(secret, request, now);
  } catch (std::exception const& e) {
    return usage(e.what());
  }
  // What the server will say about it, so that a token it would refuse (a sub or name it does not
  // accept) is never printed.
  token_keys keys;
  keys.secret = secret;
  keys.issuer = request.issuer;
  keys.audience = request.audience;
  auto const checked = token_verifier(std::move(keys)).verify(token, now);
  if (auto const* refused = std::get_if<token_error>(&checked)) {
    std::string_view const reason = refused->reason;
    if (reason.ends_with(" sub")) return usage("--sub: must be at most 128 bytes of UTF-8, no control characters");
    if (reason.starts_with("invalid name: ")) return usage("--name: " + std::string(reason.substr(14)));
    return usage("a server would refuse it: " + refused->reason);
  }
  out << token << '\n';
  return 0;
}

} // namespace crier
