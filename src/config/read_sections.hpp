// config/read_sections: the TOML schema, one reader per top-level table, private to src/config/.
//
// read_sections fills `config` (holding the embedded defaults) from a parsed document: each key
// present replaces its default after its type, range and shape were checked; any [[listener]]
// replaces the default listeners. Sections are read in a fixed order, so the first error reported
// for a file is always the same one.
// Never: returns normally after refusing a key: on the first bad one it throws ConfigError and
// leaves `config` half-filled, for its caller (parse_config) to drop.
#pragma once

#include <toml++/toml.h>

#include "config/config.hpp"

namespace mailroom::config {

void read_sections(const toml::table& root, Config& config);

}  // namespace mailroom::config
