// config/enum_names: the TOML spelling of each enum of the schema, private to src/config/.
//
// One table per enum, read by the table readers (TableReader::read_enum) and by to_string
// (config.hpp), which render_config writes: so a value renders as the word that reads it back.
// Never: spells a value two ways, or lists a word for a value that does not exist.
#pragma once

#include <initializer_list>
#include <optional>
#include <string_view>
#include <utility>

#include "config/config.hpp"

namespace mailroom::config {

template <typename Enum>
using EnumNames = std::initializer_list<std::pair<const char*, Enum>>;

constexpr EnumNames<TlsMode> kTlsModeNames = {
    {"none", TlsMode::None}, {"starttls", TlsMode::StartTls}, {"implicit", TlsMode::Implicit}};

constexpr EnumNames<AuthMode> kAuthModeNames = {
    {"none", AuthMode::None}, {"optional", AuthMode::Optional}, {"required", AuthMode::Required}};

constexpr EnumNames<RelayMode> kRelayModeNames = {{"none", RelayMode::None},
                                                  {"authenticated", RelayMode::Authenticated},
                                                  {"ranges", RelayMode::Ranges}};

constexpr EnumNames<OutboundTls> kOutboundTlsNames = {{"none", OutboundTls::None},
                                                      {"opportunistic", OutboundTls::Opportunistic},
                                                      {"required", OutboundTls::Required},
                                                      {"verify", OutboundTls::Verify}};

std::optional<OutboundTls> outbound_tls_from(std::string_view name);

}  // namespace mailroom::config
