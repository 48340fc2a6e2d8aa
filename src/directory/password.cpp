// argon2id hashing via libsodium; see password.hpp for the contract.
#include "directory/password.hpp"

#include <sodium.h>

#include <mutex>
#include <stdexcept>

namespace mailroom::directory {
namespace {

void ensure_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  });
}

}  // namespace

std::string hash_password(std::string_view password) {
  ensure_sodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    throw std::runtime_error("password hashing failed: out of memory");
  }
  return std::string(out);
}

bool verify_password_hash(const std::string& hash, std::string_view password) {
  ensure_sodium();
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

const std::string& dummy_password_hash() {
  static const std::string hash = [] {
    ensure_sodium();
    unsigned char random[32];
    randombytes_buf(random, sizeof random);
    std::string h =
        hash_password(std::string_view(reinterpret_cast<const char*>(random), sizeof random));
    sodium_memzero(random, sizeof random);
    return h;
  }();
  return hash;
}

}  // namespace mailroom::directory
