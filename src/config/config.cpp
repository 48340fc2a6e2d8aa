// The defaults, the data_dir layout and loading (config.hpp); the schema itself is in
// read_sections.cpp, the value checks in value_checks.cpp, rendering in render_config.cpp.
#include "config/config.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "config/config_text.hpp"
#include "config/read_sections.hpp"

namespace mailroom::config {
namespace {
// Control octets shown escaped; found by config_fuzz (toml++ quotes the offending character raw,
// and a quoted key such as "a\nb" comes back in "unknown key").
std::string one_line(std::string_view text) {
  std::string out;
  for (unsigned char ch : text) {
    if (ch == '\n')
      out += "\\n";
    else if (ch == '\r')
      out += "\\r";
    else if (ch < 0x20 || ch == 0x7f)
      out += fmt::format("\\x{:02x}", ch);
    else
      out += static_cast<char>(ch);
  }
  return out;
}
}  // namespace

ConfigError::ConfigError(std::string_view message) : std::runtime_error(one_line(message)) {}

std::string listener_host(std::string_view address) {
  auto host = address.substr(0, address.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return std::string(host);
}

std::string Config::queue_dir() const { return server.data_dir + "/queue"; }
std::string Config::mailbox_root() const { return server.data_dir + "/mailboxes"; }
std::string Config::log_dir() const {
  return log.directory.empty() ? server.data_dir + "/log" : log.directory;
}
std::string Config::directory_db_path() const {
  if (directory.backend == "sqlite" && !directory.url.empty()) return directory.url;
  return server.data_dir + "/directory.db";
}

std::string system_hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

Config default_config() {
  Config c;
  c.server.hostname = system_hostname();
  ListenerConfig inbound;
  inbound.name = "inbound";
  inbound.address = "127.0.0.1:2525";
  inbound.auth = AuthMode::Optional;
  inbound.relay = RelayMode::None;
  ListenerConfig submission;
  submission.name = "submission";
  submission.address = "127.0.0.1:2587";
  submission.auth = AuthMode::Required;
  submission.relay = RelayMode::Authenticated;
  c.listeners = {inbound, submission};
  return c;
}

Config parse_config(const std::string& toml_text, const std::string& source_name) {
  check_config_text(toml_text, source_name);  // toml++ 3.3 must not see what it cannot read
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    auto& where = e.source().begin;
    throw ConfigError(
        fmt::format("{}:{}:{}: {}", source_name, where.line, where.column, e.description()));
  }
  Config c = default_config();
  read_sections(root, c);
  return c;
}

Config load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot read file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

Config load_config(const std::optional<std::string>& path) {
  return path ? load_config_file(*path) : default_config();
}

}  // namespace mailroom::config
