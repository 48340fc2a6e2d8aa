// directory/password: argon2id password hashes (libsodium crypto_pwhash_str, interactive
// limits) and their verification.
//
// Safe to call from any thread once the process has started (sodium_init runs on first use,
// guarded). Never logs, returns or keeps a copy of a password.
#pragma once

#include <string>
#include <string_view>

namespace mailroom::directory {

// crypto_pwhash_str with OPSLIMIT_INTERACTIVE/MEMLIMIT_INTERACTIVE (argon2id). Throws
// std::runtime_error when libsodium cannot allocate its working memory.
std::string hash_password(std::string_view password);

// Verifies `password` against a crypto_pwhash_str hash; false for a malformed hash.
bool verify_password_hash(const std::string& hash, std::string_view password);

// A valid hash of a random password, computed once: verifying against it costs what verifying a
// real user costs, so an AUTH attempt for an unknown user takes as long as a wrong password.
const std::string& dummy_password_hash();

}  // namespace mailroom::directory
