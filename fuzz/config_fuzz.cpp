// Fuzzes TOML configuration loading: config::parse_config on arbitrary text may throw
// ConfigError (one line naming the key) and nothing else. A configuration it accepts must hold
// the invariants the server relies on without re-checking them, and must survive the
// `mailroom check-config` round trip: rendering it and parsing the rendering gives back the same
// configuration.
//
// Every input is fuzzed, non-ASCII and invalid UTF-8 included: parse_config refuses what Debian's
// toml++ 3.3 cannot read safely before toml++ sees it (config/config_text.hpp), so a UBSan report
// from inside toml++ here is a hole in that check.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>

#include "config/config.hpp"
#include "util/utf8.hpp"

using namespace mailroom::config;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

// What the rest of mailroom assumes of any configuration parse_config returned.
void check_invariants(const Config& c) {
  check(!c.server.data_dir.empty());
  check(!c.server.hostname.empty());
  std::set<std::string> names, addresses;
  for (const auto& l : c.listeners) {
    check(!l.name.empty());
    check(names.insert(l.name).second);
    check(addresses.insert(l.address).second);
    auto colon = l.address.rfind(':');
    check(colon != std::string::npos && colon > 0 && colon + 1 < l.address.size());
    check(l.max_recipients >= 1 && l.max_connections >= 1 && l.max_connections_per_client >= 1);
    check(l.relay != RelayMode::Ranges || !l.relay_ranges.empty());
    check(l.relay != RelayMode::Authenticated || l.auth != AuthMode::None);
  }
  const auto& m = c.limits;
  check(m.hard_error_limit >= 1 && m.max_connections >= 1 && m.auth_failure_limit >= 1);
  check(m.max_command_line_bytes >= 512 && m.max_text_line_bytes >= 1000);
  check(m.idle_timeout_s >= 1 && m.session_timeout_s >= 1 && m.data_timeout_s >= 1);
  check(c.queue.min_backoff_s <= c.queue.max_backoff_s);
  check(c.tls.cert_file.empty() == c.tls.key_file.empty());
  check(c.directory.recipient_delimiter != '@');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  Config config;
  try {
    config = parse_config(text, "fuzz.toml");
  } catch (const ConfigError& e) {
    // The contract: one line naming the key.
    check(std::string(e.what()).find('\n') == std::string::npos);
    return 0;
  }
  check(mailroom::util::is_well_formed_utf8(text));  // config_text.hpp refuses anything else
  check_invariants(config);
  const std::string rendered = render_config(config);
  Config again;
  try {
    again = parse_config(rendered, "rendered.toml");
  } catch (const ConfigError&) {
    std::abort();  // check-config printed something it cannot read back
  }
  check(render_config(again) == rendered);
  return 0;
}
