#pragma once
// `crier token`: signs an HS256 token for a user, with the secret a server checks tokens with
// (--token-secret), for scripts, tests and trying things out. A production issuer signs its own.
//
//   crier token --secret S --sub ann [--name Ann] [--rooms 'lobby=subscribe,publish;ops-*=subscribe']
//               [--ttl 1h] [--issuer I] [--audience A]
//
// Prints the token and a newline on stdout and exits 0; a bad flag prints one line on stderr and
// exits 2. --secret may come from CRIER_TOKEN_SECRET instead.

#include <chrono>
#include <iosfwd>
#include <string>
#include <vector>

namespace crier {

// `args` are the words after "token". Returns the exit status.
int run_token_command(std::vector<std::string> const& args, std::ostream& out, std::ostream& err,
                      std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

} // namespace crier
