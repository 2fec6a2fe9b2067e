#include "tests/support/signing_keys.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace crier::test {

key_pair pem_pair(EVP_PKEY* raw) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(raw, &EVP_PKEY_free);
  if (!key) throw std::runtime_error("OpenSSL could not generate a key");
  auto const to_string = [](auto write) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    if (write(bio.get()) != 1) throw std::runtime_error("OpenSSL could not write a PEM");
    char* data = nullptr;
    auto const n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
  };
  return {
    to_string([&](BIO* b) { return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr); }),
    to_string([&](BIO* b) { return PEM_write_bio_PUBKEY(b, key.get()); })};
}

key_pair const& rsa_keys() {
  static key_pair const keys = pem_pair(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}));
  return keys;
}

key_pair const& ec_keys() {
  static key_pair const keys = pem_pair(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  return keys;
}

std::string base64url(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  auto const n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                 reinterpret_cast<unsigned char const*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::string sign_token(jwt_alg_t alg, std::string_view key, std::string const& claims, std::string const& headers) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) throw std::runtime_error("jwt_new failed");
  std::unique_ptr<jwt_t, decltype(&jwt_free)> jwt(raw, &jwt_free);
  if (jwt_add_grants_json(jwt.get(), claims.c_str()) != 0) throw std::runtime_error("bad claims: " + claims);
  if (!headers.empty() && jwt_add_headers_json(jwt.get(), headers.c_str()) != 0)
    throw std::runtime_error("bad headers: " + headers);
  if (jwt_set_alg(jwt.get(), alg, reinterpret_cast<unsigned char const*>(key.data()), static_cast<int>(key.size())) != 0)
    throw std::runtime_error("jwt_set_alg failed");
  std::unique_ptr<char, decltype(&std::free)> token(jwt_encode_str(jwt.get()), &std::free);
  if (!token) throw std::runtime_error("jwt_encode_str failed");
  return std::string(token.get());
}

std::string unsigned_token(std::string const& claims) {
  return base64url(R"({"alg":"none","typ":"JWT"})") + "." + base64url(claims) + ".";
}

} // namespace crier::test
