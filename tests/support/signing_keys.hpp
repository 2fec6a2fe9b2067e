#pragma once
// Keys and foreign tokens for the tests of signed tokens: RSA and EC key pairs generated once per
// process with OpenSSL, and tokens signed by libjwt with any algorithm and claims (what an
// application's own issuer would send), beside crier's own HS256 signing.

#include <jwt.h>
#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace crier::test {

struct key_pair {
  std::string private_pem;
  std::string public_pem;
};
// The PEMs of `key`, which this takes ownership of (EVP_PKEY_Q_keygen's result, say).
key_pair pem_pair(EVP_PKEY* key);
key_pair const& rsa_keys(); // 2048 bits
key_pair const& ec_keys();  // P-256

// `data` in base64url without padding (RFC 7515 section 2), for tokens built by hand.
std::string base64url(std::string_view data);

// A token over `claims` (a JSON object), signed by libjwt with `alg` and `key` (an HMAC secret or
// a private key PEM); `headers` (a JSON object) adds header fields.
std::string sign_token(jwt_alg_t alg, std::string_view key, std::string const& claims, std::string const& headers = {});

// An unsigned token, {"alg":"none"}, over `claims`: what an attacker sends to skip the signature.
std::string unsigned_token(std::string const& claims);

} // namespace crier::test
