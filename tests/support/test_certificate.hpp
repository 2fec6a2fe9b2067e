#pragma once
// A throwaway self-signed certificate for 127.0.0.1, made with the openssl command line tool, for
// tests that serve TLS. Removed with its directory when destroyed.

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace crier::test {

struct test_certificate {
  std::filesystem::path dir, cert, key;

  explicit test_certificate(std::string const& tag = "tls") {
    dir = std::filesystem::temp_directory_path() / ("crier-" + tag + "-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    cert = dir / "cert.pem";
    key = dir / "key.pem";
    auto const cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext "
                     "subjectAltName=IP:127.0.0.1 -keyout " +
                     key.string() + " -out " + cert.string() + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl could not make a test certificate");
  }
  ~test_certificate() { std::filesystem::remove_all(dir); }
  test_certificate(test_certificate const&) = delete;
  test_certificate& operator=(test_certificate const&) = delete;
};

} // namespace crier::test
