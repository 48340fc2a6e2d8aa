#include "config/config_diff.hpp"

#include <map>
#include <sstream>

namespace mailroom::config {
namespace {

// render_config's text as "section.key" -> value. Repeated tables ([[listener]]) are left out:
// the caller has made them equal.
std::vector<std::pair<std::string, std::string>> keyed_lines(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(text);
  std::string line, section;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.front() == '[') {
      section = line.rfind("[[", 0) == 0 ? "" : line.substr(1, line.find(']') - 1);
      continue;
    }
    if (section.empty()) continue;
    auto eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    out.emplace_back(section + "." + line.substr(0, eq), line.substr(eq + 3));
  }
  return out;
}

}  // namespace

Config reloaded_config(const Config& running, const Config& next) {
  Config c = running;
  c.listeners = next.listeners;
  c.default_listeners = next.default_listeners;
  c.tls = next.tls;
  c.limits = next.limits;
  // ClientLedger's windows are set when it is made, at start.
  c.limits.auth_client_window_s = running.limits.auth_client_window_s;
  c.limits.client_rate_window_s = running.limits.client_rate_window_s;
  c.server.hostname = next.server.hostname;
  c.server.banner = next.server.banner;
  c.server.log_level = next.server.log_level;
  c.server.shutdown_grace_s = next.server.shutdown_grace_s;
  return c;
}

std::vector<std::string> keys_needing_restart(const Config& running, const Config& next) {
  const auto wanted = keyed_lines(render_config(next));
  const auto got = keyed_lines(render_config(reloaded_config(running, next)));
  std::map<std::string, std::string> wanted_map(wanted.begin(), wanted.end());
  std::map<std::string, std::string> got_map(got.begin(), got.end());
  std::vector<std::string> changed;
  for (const auto& [key, value] : wanted) {
    auto it = got_map.find(key);
    if (it == got_map.end() || it->second != value) changed.push_back(key);
  }
  for (const auto& [key, value] : got)
    if (!wanted_map.count(key)) changed.push_back(key);
  return changed;
}

}  // namespace mailroom::config
