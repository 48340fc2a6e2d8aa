// The enums' words (enum_names.hpp) and to_string (config.hpp).
#include "config/enum_names.hpp"

namespace mailroom::config {
namespace {

template <typename Enum>
const char* name_of(EnumNames<Enum> names, Enum value, const char* unknown) {
  for (auto& [name, v] : names)
    if (v == value) return name;
  return unknown;
}

}  // namespace

std::optional<OutboundTls> outbound_tls_from(std::string_view name) {
  for (auto& [n, v] : kOutboundTlsNames)
    if (name == n) return v;
  return std::nullopt;
}

const char* to_string(TlsMode m) { return name_of(kTlsModeNames, m, "?"); }
const char* to_string(AuthMode m) { return name_of(kAuthModeNames, m, "?"); }
const char* to_string(RelayMode m) { return name_of(kRelayModeNames, m, "?"); }
const char* to_string(OutboundTls t) { return name_of(kOutboundTlsNames, t, "opportunistic"); }

}  // namespace mailroom::config
