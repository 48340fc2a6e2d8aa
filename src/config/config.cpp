// Loading and validating the TOML configuration; see config.hpp for the contract.
#include "config/config.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include "config/config_text.hpp"
#include "util/ascii.hpp"
#include "util/cidr.hpp"

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

// Reads typed keys from one TOML table and remembers which keys were seen, so that an unknown
// key (usually a typo) is reported instead of silently ignored.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string path) : table_(table), path_(std::move(path)) {}

  std::string key_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
  }

  [[noreturn]] void fail(std::string_view key, std::string_view why) const {
    throw ConfigError(fmt::format("{}: {}", key_path(key), why));
  }

  void read(std::string_view key, std::string& out) {
    if (auto* node = find(key)) {
      auto v = node->value<std::string>();
      if (!v) fail(key, "must be a string");
      out = *v;
    }
  }

  void read(std::string_view key, bool& out) {
    if (auto* node = find(key)) {
      auto v = node->value<bool>();
      if (!v || !node->is_boolean()) fail(key, "must be true or false");
      out = *v;
    }
  }

  template <typename Int>
  void read_uint(std::string_view key, Int& out, std::uint64_t min, std::uint64_t max) {
    if (auto* node = find(key)) {
      if (!node->is_integer()) fail(key, "must be an integer");
      auto v = node->value<std::int64_t>().value();
      if (v < 0 || static_cast<std::uint64_t>(v) < min || static_cast<std::uint64_t>(v) > max)
        fail(key, fmt::format("must be between {} and {}", min, max));
      out = static_cast<Int>(v);
    }
  }

  void read(std::string_view key, std::vector<std::string>& out) {
    if (auto* node = find(key)) {
      auto* arr = node->as_array();
      if (!arr) fail(key, "must be an array of strings");
      out.clear();
      for (auto& el : *arr) {
        auto v = el.value<std::string>();
        if (!v || !el.is_string()) fail(key, "must be an array of strings");
        out.push_back(*v);
      }
    }
  }

  template <typename Enum>
  void read_enum(std::string_view key, Enum& out,
                 std::initializer_list<std::pair<const char*, Enum>> choices) {
    std::string text;
    if (!find(key)) return;
    read(key, text);
    std::string names;
    for (auto& [name, value] : choices) {
      if (text == name) {
        out = value;
        return;
      }
      names += names.empty() ? fmt::format("\"{}\"", name) : fmt::format(" | \"{}\"", name);
    }
    fail(key, fmt::format("must be one of {} (got \"{}\")", names, text));
  }

  // Marks a key as known whose value the caller reads itself (a sub-table).
  void read_table(std::string_view key) { find(key); }

  // Called once all known keys were read.
  void reject_unknown_keys() const {
    for (auto& [k, v] : table_) {
      if (!seen_.count(std::string(k.str()))) fail(k.str(), "unknown key");
    }
  }

 private:
  const toml::node* find(std::string_view key) {
    seen_.insert(std::string(key));
    return table_.get(key);
  }

  const toml::table& table_;
  std::string path_;
  std::set<std::string> seen_;
};

constexpr std::initializer_list<std::pair<const char*, OutboundTls>> kOutboundTlsNames = {
    {"none", OutboundTls::None},
    {"opportunistic", OutboundTls::Opportunistic},
    {"required", OutboundTls::Required},
    {"verify", OutboundTls::Verify}};

std::optional<OutboundTls> outbound_tls_from(std::string_view name) {
  for (auto& [n, v] : kOutboundTlsNames)
    if (name == n) return v;
  return std::nullopt;
}

// "[host]:port", "[host]", "host:port" or "host": host a domain name or an IP address (an IPv6
// address only in brackets), port 1-65535.
bool valid_nexthop(std::string_view text) {
  std::string_view host = text;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    port = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!port.empty() && port.front() != ':') return false;
    if (!port.empty()) port.remove_prefix(1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty() || host.size() > 255) return false;
  for (char ch : host)
    if (!(util::is_ascii_alnum(ch) || ch == '-' || ch == '.' || ch == ':' || ch == '_'))
      return false;
  if (text.back() == ':') return false;
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
      return false;
    auto n = std::stoul(std::string(port));
    if (n == 0 || n > 65535) return false;
  }
  return true;
}

void read_delivery(const toml::table& t, DeliveryConfig& d) {
  TableReader r(t, "delivery");
  r.read("local", d.local);
  r.read("relayhost", d.relayhost);
  r.read("relayhost_username", d.relayhost_username);
  r.read("relayhost_password", d.relayhost_password);
  r.read("relayhost_plaintext_auth", d.relayhost_plaintext_auth);
  r.read_uint("remote_port", d.remote_port, 1, 65535);
  r.read_enum("tls", d.tls, kOutboundTlsNames);
  r.read("tls_ca_file", d.tls_ca_file);
  r.read("helo_name", d.helo_name);
  r.read("use_bdat", d.use_bdat);
  r.read_uint("max_hops", d.max_hops, 1, 1000);
  r.read_uint("max_mx_hosts", d.max_mx_hosts, 1, 100);
  r.read_uint("max_connections", d.max_connections, 1, 10000);
  r.read_uint("max_connections_per_destination", d.max_connections_per_destination, 1, 1000);
  r.read_uint("connection_cache_s", d.connection_cache_s, 0, 3600);
  r.read_uint("connection_reuse_limit", d.connection_reuse_limit, 1, 100000);
  r.read_uint("destination_backoff_s", d.destination_backoff_s, 0, 86400);
  r.read_uint("connect_timeout_s", d.connect_timeout_s, 1, 3600);
  r.read_uint("helo_timeout_s", d.helo_timeout_s, 1, 3600);
  r.read_uint("mail_timeout_s", d.mail_timeout_s, 1, 3600);
  r.read_uint("rcpt_timeout_s", d.rcpt_timeout_s, 1, 3600);
  r.read_uint("data_init_timeout_s", d.data_init_timeout_s, 1, 3600);
  r.read_uint("data_xfer_timeout_s", d.data_xfer_timeout_s, 1, 3600);
  r.read_uint("data_done_timeout_s", d.data_done_timeout_s, 1, 3600);
  r.read_uint("quit_timeout_s", d.quit_timeout_s, 1, 3600);
  r.read("protocol_log", d.protocol_log);
  std::vector<std::pair<std::string, OutboundTls>> policy;
  if (auto* node = t.get("tls_policy")) {
    r.read_table("tls_policy");
    auto* table = node->as_table();
    if (!table)
      r.fail(
          "tls_policy",
          "must be a table of domain = \"none\" | \"opportunistic\" | \"required\" | \"verify\"");
    for (auto& [domain, level] : *table) {
      auto name = level.value<std::string>();
      auto parsed = name ? outbound_tls_from(*name) : std::nullopt;
      const std::string key = "tls_policy." + std::string(domain.str());
      if (!parsed || !level.is_string())
        r.fail(key, "must be \"none\" | \"opportunistic\" | \"required\" | \"verify\"");
      std::string d_name(domain.str());
      if (d_name.empty() || d_name == ".") r.fail(key, "must name a domain");
      policy.emplace_back(util::to_ascii_lower(d_name), *parsed);
    }
  }
  d.tls_policy = std::move(policy);
  r.reject_unknown_keys();
  const bool lmtp_unix = d.local.rfind("lmtp:unix:/", 0) == 0 && d.local.size() > 11;
  const bool lmtp_tcp = d.local.rfind("lmtp:", 0) == 0 && !lmtp_unix &&
                        d.local.rfind("lmtp:unix:", 0) != 0 && valid_nexthop(d.local.substr(5)) &&
                        d.local.find(':', 5) != std::string::npos;
  if (d.local != "maildir" && !lmtp_unix && !lmtp_tcp)
    r.fail(
        "local",
        fmt::format("must be \"maildir\", \"lmtp:unix:/path\" or \"lmtp:host:port\" (got \"{}\")",
                    d.local));
  if (!d.relayhost.empty() && !valid_nexthop(d.relayhost))
    r.fail(
        "relayhost",
        fmt::format("must be \"[host]:port\", \"[host]\", \"host:port\" or \"host\" (got \"{}\")",
                    d.relayhost));
  if (d.relayhost_username.empty() != d.relayhost_password.empty())
    r.fail(d.relayhost_username.empty() ? "relayhost_username" : "relayhost_password",
           "relayhost_username and relayhost_password must be set together");
  if (!d.relayhost_username.empty() && d.relayhost.empty())
    r.fail("relayhost_username", "needs a relayhost");
}

void check_address(const std::string& key, const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size())
    throw ConfigError(fmt::format("{}: must be host:port (got \"{}\")", key, address));
  auto port_text = address.substr(colon + 1);
  if (port_text.find_first_not_of("0123456789") != std::string::npos || port_text.size() > 5 ||
      std::stoul(port_text) > 65535)
    throw ConfigError(fmt::format("{}: invalid port in \"{}\"", key, address));
  // The listener binds exactly what it is given, so the host must be an IP literal (or "*"):
  // refused here, with the key, rather than at bind time.
  auto host = listener_host(address);
  in6_addr ip{};
  if (host != "*" && inet_pton(AF_INET, host.c_str(), &ip) != 1 &&
      inet_pton(AF_INET6, host.c_str(), &ip) != 1)
    throw ConfigError(
        fmt::format("{}: host must be an IP address or * (got \"{}\")", key, address));
}

void check_ranges(const std::string& key, const std::vector<std::string>& ranges) {
  for (auto& r : ranges) {
    auto range = util::Cidr::parse(r);
    if (!range) throw ConfigError(fmt::format("{}: invalid address range \"{}\"", key, r));
    // "192.168.1.1/24" means the network or the host; guessing either can open or close a relay.
    if (range->has_host_bits())
      throw ConfigError(fmt::format(
          "{}: \"{}\" has host bits set: write \"{}\" for the network or \"{}\" for the host", key,
          r, range->network().to_string(), range->host().to_string()));
  }
}

void check_domain(const std::string& key, const std::string& domain) {
  bool ok = !domain.empty() && domain.size() <= 253 && domain.front() != '.' &&
            domain.back() != '.' && domain.find("..") == std::string::npos;
  for (char c : domain) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.');
  }
  if (!ok) throw ConfigError(fmt::format("{}: invalid domain \"{}\"", key, domain));
}

ListenerConfig read_listener(const toml::table& t, const std::string& path) {
  ListenerConfig l;
  TableReader r(t, path);
  r.read("name", l.name);
  r.read("address", l.address);
  r.read("remote_ranges", l.remote_ranges);
  r.read_enum(
      "tls", l.tls,
      {{"none", TlsMode::None}, {"starttls", TlsMode::StartTls}, {"implicit", TlsMode::Implicit}});
  r.read_enum("auth", l.auth,
              {{"none", AuthMode::None},
               {"optional", AuthMode::Optional},
               {"required", AuthMode::Required}});
  r.read_enum("relay", l.relay,
              {{"none", RelayMode::None},
               {"authenticated", RelayMode::Authenticated},
               {"ranges", RelayMode::Ranges}});
  r.read("relay_ranges", l.relay_ranges);
  r.read("allow_plaintext_auth", l.allow_plaintext_auth);
  r.read_uint("max_message_size", l.max_message_size, 1024, 1ull << 40);
  r.read_uint("max_recipients", l.max_recipients, 1, 100000);
  r.read_uint("max_connections", l.max_connections, 1, 1000000);
  r.read_uint("max_connections_per_client", l.max_connections_per_client, 1, 1000000);
  r.read_uint("max_connection_rate_per_client", l.max_connection_rate_per_client, 0, 100000000);
  r.read("enforce_sender_login", l.enforce_sender_login);
  r.read("sender_login_exceptions", l.sender_login_exceptions);
  r.read("protocol_log", l.protocol_log);
  r.reject_unknown_keys();
  if (l.name.empty()) r.fail("name", "must not be empty");
  check_address(r.key_path("address"), l.address);
  check_ranges(r.key_path("remote_ranges"), l.remote_ranges);
  check_ranges(r.key_path("relay_ranges"), l.relay_ranges);
  if (l.relay == RelayMode::Ranges && l.relay_ranges.empty())
    r.fail("relay_ranges", "must list at least one range when relay = \"ranges\"");
  if (l.relay == RelayMode::Authenticated && l.auth == AuthMode::None)
    r.fail("relay", "\"authenticated\" needs auth = \"optional\" or \"required\"");
  return l;
}

}  // namespace

ConfigError::ConfigError(std::string_view message) : std::runtime_error(one_line(message)) {}

std::string listener_host(std::string_view address) {
  auto host = address.substr(0, address.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return std::string(host);
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
  // Known top-level tables.
  static const std::set<std::string> known = {"server",    "listener", "limits", "tls",     "queue",
                                              "directory", "delivery", "dns",    "metrics", "log"};
  for (auto& [k, v] : root) {
    if (!known.count(std::string(k.str())))
      throw ConfigError(fmt::format("{}: unknown key", k.str()));
  }
  auto table = [&](const char* name) -> const toml::table* {
    const toml::node* n = root.get(name);
    if (!n) return nullptr;
    if (!n->is_table()) throw ConfigError(fmt::format("{}: must be a table", name));
    return n->as_table();
  };

  if (auto* t = table("server")) {
    TableReader r(*t, "server");
    r.read("hostname", c.server.hostname);
    r.read("data_dir", c.server.data_dir);
    r.read("banner", c.server.banner);
    r.read("local_domains", c.server.local_domains);
    r.read("user", c.server.user);
    r.read("log_level", c.server.log_level);
    r.read_uint("shutdown_grace_s", c.server.shutdown_grace_s, 0, 3600);
    r.reject_unknown_keys();
    if (c.server.data_dir.empty()) r.fail("data_dir", "must not be empty");
    check_domain("server.hostname", c.server.hostname);
    for (auto& d : c.server.local_domains) check_domain("server.local_domains", d);
    static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "off"};
    if (!levels.count(c.server.log_level))
      r.fail("log_level", "must be trace, debug, info, warn, error or off");
    for (char ch : c.server.banner) {
      if (ch == '\r' || ch == '\n' || ch == '\0') r.fail("banner", "must be a single line");
    }
  }

  if (const toml::node* n = root.get("listener")) {
    auto* arr = n->as_array();
    if (!arr || !arr->is_array_of_tables())
      throw ConfigError("listener: must be an array of tables ([[listener]])");
    c.listeners.clear();
    c.default_listeners = false;
    std::set<std::string> names, addresses;
    for (std::size_t i = 0; i < arr->size(); ++i) {
      auto path = fmt::format("listener[{}]", i);
      auto l = read_listener(*arr->get(i)->as_table(), path);
      if (!names.insert(l.name).second)
        throw ConfigError(fmt::format("{}.name: duplicate listener name \"{}\"", path, l.name));
      if (!addresses.insert(l.address).second)
        throw ConfigError(fmt::format("{}.address: \"{}\" is used twice", path, l.address));
      c.listeners.push_back(std::move(l));
    }
  }

  if (auto* t = table("limits")) {
    TableReader r(*t, "limits");
    auto& l = c.limits;
    r.read_uint("hard_error_limit", l.hard_error_limit, 1, 1000);
    r.read_uint("soft_error_limit", l.soft_error_limit, 1, 1000);
    r.read_uint("error_delay_ms", l.error_delay_ms, 0, 60000);
    r.read_uint("max_command_line_bytes", l.max_command_line_bytes, 512, 65536);
    r.read_uint("max_text_line_bytes", l.max_text_line_bytes, 1000, 1 << 20);
    r.read_uint("idle_timeout_s", l.idle_timeout_s, 1, 86400);
    r.read_uint("session_timeout_s", l.session_timeout_s, 1, 7 * 86400);
    r.read_uint("data_timeout_s", l.data_timeout_s, 1, 86400);
    r.read_uint("min_data_rate_bytes_per_s", l.min_data_rate_bytes_per_s, 0, 1 << 30);
    r.read_uint("max_connections", l.max_connections, 1, 10000000);
    r.read_uint("auth_failure_limit", l.auth_failure_limit, 1, 1000);
    r.read_uint("auth_failure_delay_ms", l.auth_failure_delay_ms, 0, 60000);
    r.read_uint("auth_client_failure_limit", l.auth_client_failure_limit, 1, 1000000);
    r.read_uint("auth_client_window_s", l.auth_client_window_s, 1, 7 * 86400);
    r.read_uint("client_rate_window_s", l.client_rate_window_s, 1, 86400);
    r.read_uint("max_pipelined_commands", l.max_pipelined_commands, 1, 100000);
    r.reject_unknown_keys();
  }

  if (auto* t = table("tls")) {
    TableReader r(*t, "tls");
    r.read("cert_file", c.tls.cert_file);
    r.read("key_file", c.tls.key_file);
    r.reject_unknown_keys();
    if (c.tls.cert_file.empty() != c.tls.key_file.empty())
      r.fail(c.tls.cert_file.empty() ? "cert_file" : "key_file",
             "cert_file and key_file must be set together");
  }

  if (auto* t = table("queue")) {
    TableReader r(*t, "queue");
    r.read_uint("min_backoff_s", c.queue.min_backoff_s, 1, 86400);
    r.read_uint("max_backoff_s", c.queue.max_backoff_s, 1, 7 * 86400);
    r.read_uint("max_lifetime_s", c.queue.max_lifetime_s, 0, 365 * 86400);
    r.read_uint("delivery_workers", c.queue.delivery_workers, 1, 256);
    r.read_uint("scan_interval_s", c.queue.scan_interval_s, 1, 3600);
    r.read_uint("spare_files", c.queue.spare_files, 0, 1000000);
    r.read_uint("delay_warning_s", c.queue.delay_warning_s, 0, 365 * 86400);
    r.reject_unknown_keys();
    if (c.queue.max_backoff_s < c.queue.min_backoff_s)
      r.fail("max_backoff_s", "must not be smaller than min_backoff_s");
  }

  if (auto* t = table("directory")) {
    TableReader r(*t, "directory");
    r.read("backend", c.directory.backend);
    r.read("url", c.directory.url);
    r.read("plus_addressing", c.directory.plus_addressing);
    std::string delim(1, c.directory.recipient_delimiter);
    r.read("recipient_delimiter", delim);
    r.read_uint("max_alias_depth", c.directory.max_alias_depth, 1, 100);
    r.read_uint("max_alias_fanout", c.directory.max_alias_fanout, 1, 100000);
    r.reject_unknown_keys();
    if (c.directory.backend != "sqlite" && c.directory.backend != "postgresql")
      r.fail("backend", "must be \"sqlite\" or \"postgresql\"");
    if (c.directory.backend == "postgresql" && c.directory.url.rfind("postgres", 0) != 0)
      r.fail("url", "must be a postgresql:// URL when backend = \"postgresql\"");
    if (delim.size() != 1 || std::isalnum(static_cast<unsigned char>(delim[0])) || delim[0] == '@')
      r.fail("recipient_delimiter", "must be one non-alphanumeric character other than @");
    c.directory.recipient_delimiter = delim[0];
  }

  if (auto* t = table("delivery")) read_delivery(*t, c.delivery);

  if (auto* t = table("metrics")) {
    TableReader r(*t, "metrics");
    r.read("address", c.metrics.address);
    r.reject_unknown_keys();
    if (!c.metrics.address.empty()) check_address("metrics.address", c.metrics.address);
  }

  if (auto* t = table("log")) {
    TableReader r(*t, "log");
    r.read("directory", c.log.directory);
    r.read("tracking", c.log.tracking);
    r.read_uint("max_file_bytes", c.log.max_file_bytes, 4096, 1ull << 40);
    r.read_uint("rotate_interval_s", c.log.rotate_interval_s, 1, 366u * 86400);
    r.read_uint("max_age_days", c.log.max_age_days, 1, 3650);
    r.read_uint("max_total_bytes", c.log.max_total_bytes, 4096, 1ull << 50);
    r.read_uint("queue_lines", c.log.queue_lines, 16, 10000000);
    r.reject_unknown_keys();
  }

  if (auto* t = table("dns")) {
    TableReader r(*t, "dns");
    r.read("servers", c.dns.servers);
    r.read_uint("timeout_ms", c.dns.timeout_ms, 10, 60000);
    r.reject_unknown_keys();
    for (auto& s : c.dns.servers) check_address("dns.servers", s);
  }
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

namespace {
// Always a basic "..." string with escapes: toml++'s default formatting may pick a ''' literal
// string, which cannot hold three quotes in a row and so did not read back (found by config_fuzz).
std::string quote(const std::string& s) {
  std::ostringstream o;
  o << toml::toml_formatter{toml::value<std::string>(s), toml::format_flags::allow_unicode_strings};
  return o.str();
}
std::string quote_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + quote(v[i]);
  return out + "]";
}
}  // namespace

std::string render_config(const Config& c) {
  std::string o;
  o += "[server]\n";
  o += fmt::format("hostname = {}\n", quote(c.server.hostname));
  o += fmt::format("data_dir = {}\n", quote(c.server.data_dir));
  o += fmt::format("banner = {}\n", quote(c.server.banner));
  o += fmt::format("local_domains = {}\n", quote_list(c.server.local_domains));
  o += fmt::format("user = {}\n", quote(c.server.user));
  o += fmt::format("log_level = {}\n", quote(c.server.log_level));
  o += fmt::format("shutdown_grace_s = {}\n", c.server.shutdown_grace_s);
  for (auto& l : c.listeners) {
    o += "\n[[listener]]\n";
    o += fmt::format("name = {}\n", quote(l.name));
    o += fmt::format("address = {}\n", quote(l.address));
    o += fmt::format("remote_ranges = {}\n", quote_list(l.remote_ranges));
    o += fmt::format("tls = \"{}\"\n", to_string(l.tls));
    o += fmt::format("auth = \"{}\"\n", to_string(l.auth));
    o += fmt::format("relay = \"{}\"\n", to_string(l.relay));
    o += fmt::format("relay_ranges = {}\n", quote_list(l.relay_ranges));
    o += fmt::format("allow_plaintext_auth = {}\n", l.allow_plaintext_auth);
    o += fmt::format("max_message_size = {}\n", l.max_message_size);
    o += fmt::format("max_recipients = {}\n", l.max_recipients);
    o += fmt::format("max_connections = {}\n", l.max_connections);
    o += fmt::format("max_connections_per_client = {}\n", l.max_connections_per_client);
    o += fmt::format("max_connection_rate_per_client = {}\n", l.max_connection_rate_per_client);
    o += fmt::format("enforce_sender_login = {}\n", l.enforce_sender_login);
    o += fmt::format("sender_login_exceptions = {}\n", quote_list(l.sender_login_exceptions));
    o += fmt::format("protocol_log = {}\n", l.protocol_log);
  }
  auto& m = c.limits;
  o += "\n[limits]\n";
  o += fmt::format("hard_error_limit = {}\nsoft_error_limit = {}\nerror_delay_ms = {}\n",
                   m.hard_error_limit, m.soft_error_limit, m.error_delay_ms);
  o += fmt::format("max_command_line_bytes = {}\nmax_text_line_bytes = {}\n",
                   m.max_command_line_bytes, m.max_text_line_bytes);
  o += fmt::format("idle_timeout_s = {}\nsession_timeout_s = {}\ndata_timeout_s = {}\n",
                   m.idle_timeout_s, m.session_timeout_s, m.data_timeout_s);
  o += fmt::format("min_data_rate_bytes_per_s = {}\nmax_connections = {}\n",
                   m.min_data_rate_bytes_per_s, m.max_connections);
  o += fmt::format("auth_failure_limit = {}\nauth_failure_delay_ms = {}\n", m.auth_failure_limit,
                   m.auth_failure_delay_ms);
  o += fmt::format("auth_client_failure_limit = {}\nauth_client_window_s = {}\n",
                   m.auth_client_failure_limit, m.auth_client_window_s);
  o += fmt::format("client_rate_window_s = {}\n", m.client_rate_window_s);
  o += fmt::format("max_pipelined_commands = {}\n", m.max_pipelined_commands);
  o += "\n[tls]\n";
  o +=
      fmt::format("cert_file = {}\nkey_file = {}\n", quote(c.tls.cert_file), quote(c.tls.key_file));
  o += "\n[queue]\n";
  o += fmt::format("min_backoff_s = {}\nmax_backoff_s = {}\nmax_lifetime_s = {}\n",
                   c.queue.min_backoff_s, c.queue.max_backoff_s, c.queue.max_lifetime_s);
  o += fmt::format("delivery_workers = {}\nscan_interval_s = {}\nspare_files = {}\n",
                   c.queue.delivery_workers, c.queue.scan_interval_s, c.queue.spare_files);
  o += fmt::format("delay_warning_s = {}\n", c.queue.delay_warning_s);
  o += "\n[directory]\n";
  o += fmt::format("backend = {}\nurl = {}\nplus_addressing = {}\n", quote(c.directory.backend),
                   quote(c.directory.url), c.directory.plus_addressing);
  o += fmt::format("recipient_delimiter = {}\n",
                   quote(std::string(1, c.directory.recipient_delimiter)));
  o += fmt::format("max_alias_depth = {}\nmax_alias_fanout = {}\n", c.directory.max_alias_depth,
                   c.directory.max_alias_fanout);
  const auto& d = c.delivery;
  o += "\n[delivery]\n";
  o += fmt::format("local = {}\nrelayhost = {}\n", quote(d.local), quote(d.relayhost));
  o += fmt::format("relayhost_username = {}\nrelayhost_password = {}\n",
                   quote(d.relayhost_username), quote(d.relayhost_password));
  o += fmt::format("relayhost_plaintext_auth = {}\nremote_port = {}\n", d.relayhost_plaintext_auth,
                   d.remote_port);
  o += fmt::format("tls = \"{}\"\ntls_ca_file = {}\nhelo_name = {}\nuse_bdat = {}\n",
                   to_string(d.tls), quote(d.tls_ca_file), quote(d.helo_name), d.use_bdat);
  o += fmt::format("max_hops = {}\nmax_mx_hosts = {}\n", d.max_hops, d.max_mx_hosts);
  o += fmt::format("max_connections = {}\nmax_connections_per_destination = {}\n",
                   d.max_connections, d.max_connections_per_destination);
  o += fmt::format("connection_cache_s = {}\nconnection_reuse_limit = {}\n", d.connection_cache_s,
                   d.connection_reuse_limit);
  o += fmt::format("destination_backoff_s = {}\n", d.destination_backoff_s);
  o += fmt::format("connect_timeout_s = {}\nhelo_timeout_s = {}\nmail_timeout_s = {}\n",
                   d.connect_timeout_s, d.helo_timeout_s, d.mail_timeout_s);
  o += fmt::format("rcpt_timeout_s = {}\ndata_init_timeout_s = {}\ndata_xfer_timeout_s = {}\n",
                   d.rcpt_timeout_s, d.data_init_timeout_s, d.data_xfer_timeout_s);
  o += fmt::format("data_done_timeout_s = {}\nquit_timeout_s = {}\n", d.data_done_timeout_s,
                   d.quit_timeout_s);
  o += fmt::format("protocol_log = {}\n", d.protocol_log);
  o += "[delivery.tls_policy]\n";
  for (auto& [domain, level] : d.tls_policy)
    o += fmt::format("{} = \"{}\"\n", quote(domain), to_string(level));
  o += fmt::format("\n[metrics]\naddress = {}\n", quote(c.metrics.address));
  o += "\n[log]\n";
  o += fmt::format("directory = {}\ntracking = {}\n", quote(c.log.directory), c.log.tracking);
  o += fmt::format("max_file_bytes = {}\nrotate_interval_s = {}\n", c.log.max_file_bytes,
                   c.log.rotate_interval_s);
  o += fmt::format("max_age_days = {}\nmax_total_bytes = {}\nqueue_lines = {}\n",
                   c.log.max_age_days, c.log.max_total_bytes, c.log.queue_lines);
  o += "\n[dns]\n";
  o += fmt::format("servers = {}\ntimeout_ms = {}\n", quote_list(c.dns.servers), c.dns.timeout_ms);
  return o;
}

}  // namespace mailroom::config
