// config/enum_names: the TOML spelling of the schema's enums, private to src/config/.
//
// The words of OutboundTls, read by the [delivery] reader and written by to_string (config.hpp),
// so that render_config writes the word that reads the value back.
// Never: spells a value two ways, or lists a word for a value that does not exist.
#pragma once

#include <initializer_list>
#include <optional>
#include <string_view>
#include <utility>

#include "config/config.hpp"

namespace mailroom::config {

constexpr std::initializer_list<std::pair<const char*, OutboundTls>> kOutboundTlsNames = {
    {"none", OutboundTls::None},
    {"opportunistic", OutboundTls::Opportunistic},
    {"required", OutboundTls::Required},
    {"verify", OutboundTls::Verify}};

std::optional<OutboundTls> outbound_tls_from(std::string_view name);

}  // namespace mailroom::config
