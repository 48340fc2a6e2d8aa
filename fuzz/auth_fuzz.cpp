// Fuzzes the AUTH decoders: strict base64 accepts only canonical encodings, PLAIN splitting
// never yields a field with a NUL or an empty authcid/password.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtp/auth.hpp"

using namespace mailroom::smtp;

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}

void check_plain(std::string_view decoded) {
  auto creds = parse_auth_plain(decoded);
  if (!creds) return;
  check(!creds->authcid.empty() && !creds->password.empty());
  for (const std::string* field : {&creds->authzid, &creds->authcid, &creds->password}) {
    check(field->find('\0') == std::string::npos);
    check(field->size() <= 255);
  }
  check(creds->authzid.size() + creds->authcid.size() + creds->password.size() + 2 ==
        decoded.size());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  auto decoded = base64_decode(input);
  if (decoded) {
    check(base64_encode(*decoded) == input);  // strict: only the canonical form decodes
    check_plain(*decoded);
  }
  check(base64_decode(base64_encode(input)) == std::string(input));
  check_plain(input);

  auto args = parse_auth_args(input);
  if (args.ok()) {
    check(!args.value->mechanism.empty() && args.value->mechanism.size() <= 20);
    if (args.value->initial_response) (void)base64_decode(*args.value->initial_response);
  }
  return 0;
}
