// The enums' words (enum_names.hpp) and to_string (config.hpp).
#include "config/enum_names.hpp"

namespace mailroom::config {

std::optional<OutboundTls> outbound_tls_from(std::string_view name) {
  for (auto& [n, v] : kOutboundTlsNames)
    if (name == n) return v;
  return std::nullopt;
}

const char* to_string(TlsMode m) {
  switch (m) {
    case TlsMode::None:
      return "none";
    case TlsMode::StartTls:
      return "starttls";
    case TlsMode::Implicit:
      return "implicit";
  }
  return "?";
}
const char* to_string(OutboundTls t) {
  for (auto& [name, value] : kOutboundTlsNames)
    if (value == t) return name;
  return "opportunistic";
}

const char* to_string(AuthMode m) {
  switch (m) {
    case AuthMode::None:
      return "none";
    case AuthMode::Optional:
      return "optional";
    case AuthMode::Required:
      return "required";
  }
  return "?";
}
const char* to_string(RelayMode m) {
  switch (m) {
    case RelayMode::None:
      return "none";
    case RelayMode::Authenticated:
      return "authenticated";
    case RelayMode::Ranges:
      return "ranges";
  }
  return "?";
}

}  // namespace mailroom::config
