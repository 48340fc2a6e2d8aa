// The per-table readers of the TOML schema (read_sections.hpp).
#include "config/read_sections.hpp"

#include <fmt/format.h>

#include <cctype>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "config/enum_names.hpp"
#include "config/table_reader.hpp"
#include "config/value_checks.hpp"
#include "util/ascii.hpp"

namespace mailroom::config {
namespace {

void read_server(const toml::table& t, ServerConfig& s) {
  TableReader r(t, "server");
  r.read("hostname", s.hostname);
  r.read("data_dir", s.data_dir);
  r.read("banner", s.banner);
  r.read("local_domains", s.local_domains);
  r.read("user", s.user);
  r.read("log_level", s.log_level);
  r.read_uint("shutdown_grace_s", s.shutdown_grace_s, 0, 3600);
  r.reject_unknown_keys();
  if (s.data_dir.empty()) r.fail("data_dir", "must not be empty");
  check_domain("server.hostname", s.hostname);
  for (auto& d : s.local_domains) check_domain("server.local_domains", d);
  static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "off"};
  if (!levels.count(s.log_level))
    r.fail("log_level", "must be trace, debug, info, warn, error or off");
  for (char ch : s.banner) {
    if (ch == '\r' || ch == '\n' || ch == '\0') r.fail("banner", "must be a single line");
  }
}

ListenerConfig read_listener(const toml::table& t, const std::string& path) {
  ListenerConfig l;
  TableReader r(t, path);
  r.read("name", l.name);
  r.read("address", l.address);
  r.read("remote_ranges", l.remote_ranges);
  r.read_enum("tls", l.tls, kTlsModeNames);
  r.read_enum("auth", l.auth, kAuthModeNames);
  r.read_enum("relay", l.relay, kRelayModeNames);
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

// [[listener]]: names and addresses unique; any listener replaces the two defaults.
void read_listeners(const toml::node& n, Config& c) {
  auto* arr = n.as_array();
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

void read_limits(const toml::table& t, LimitsConfig& l) {
  TableReader r(t, "limits");
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

void read_tls(const toml::table& t, TlsConfig& tls) {
  TableReader r(t, "tls");
  r.read("cert_file", tls.cert_file);
  r.read("key_file", tls.key_file);
  r.reject_unknown_keys();
  if (tls.cert_file.empty() != tls.key_file.empty())
    r.fail(tls.cert_file.empty() ? "cert_file" : "key_file",
           "cert_file and key_file must be set together");
}

void read_queue(const toml::table& t, QueueConfig& q) {
  TableReader r(t, "queue");
  r.read_uint("min_backoff_s", q.min_backoff_s, 1, 86400);
  r.read_uint("max_backoff_s", q.max_backoff_s, 1, 7 * 86400);
  r.read_uint("max_lifetime_s", q.max_lifetime_s, 0, 365 * 86400);
  r.read_uint("delivery_workers", q.delivery_workers, 1, 256);
  r.read_uint("scan_interval_s", q.scan_interval_s, 1, 3600);
  r.read_uint("spare_files", q.spare_files, 0, 1000000);
  r.read_uint("delay_warning_s", q.delay_warning_s, 0, 365 * 86400);
  r.reject_unknown_keys();
  if (q.max_backoff_s < q.min_backoff_s)
    r.fail("max_backoff_s", "must not be smaller than min_backoff_s");
}

void read_directory(const toml::table& t, DirectoryConfig& d) {
  TableReader r(t, "directory");
  r.read("backend", d.backend);
  r.read("url", d.url);
  r.read("plus_addressing", d.plus_addressing);
  std::string delim(1, d.recipient_delimiter);
  r.read("recipient_delimiter", delim);
  r.read_uint("max_alias_depth", d.max_alias_depth, 1, 100);
  r.read_uint("max_alias_fanout", d.max_alias_fanout, 1, 100000);
  r.reject_unknown_keys();
  if (d.backend != "sqlite" && d.backend != "postgresql")
    r.fail("backend", "must be \"sqlite\" or \"postgresql\"");
  if (d.backend == "postgresql" && d.url.rfind("postgres", 0) != 0)
    r.fail("url", "must be a postgresql:// URL when backend = \"postgresql\"");
  if (delim.size() != 1 || std::isalnum(static_cast<unsigned char>(delim[0])) || delim[0] == '@')
    r.fail("recipient_delimiter", "must be one non-alphanumeric character other than @");
  d.recipient_delimiter = delim[0];
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

void read_metrics(const toml::table& t, MetricsConfig& m) {
  TableReader r(t, "metrics");
  r.read("address", m.address);
  r.reject_unknown_keys();
  if (!m.address.empty()) check_address("metrics.address", m.address);
}

void read_log(const toml::table& t, LogConfig& log) {
  TableReader r(t, "log");
  r.read("directory", log.directory);
  r.read("tracking", log.tracking);
  r.read_uint("max_file_bytes", log.max_file_bytes, 4096, 1ull << 40);
  r.read_uint("rotate_interval_s", log.rotate_interval_s, 1, 366u * 86400);
  r.read_uint("max_age_days", log.max_age_days, 1, 3650);
  r.read_uint("max_total_bytes", log.max_total_bytes, 4096, 1ull << 50);
  r.read_uint("queue_lines", log.queue_lines, 16, 10000000);
  r.reject_unknown_keys();
}

void read_dns(const toml::table& t, DnsConfig& dns) {
  TableReader r(t, "dns");
  r.read("servers", dns.servers);
  r.read_uint("timeout_ms", dns.timeout_ms, 10, 60000);
  r.reject_unknown_keys();
  for (auto& s : dns.servers) check_address("dns.servers", s);
}

}  // namespace

void read_sections(const toml::table& root, Config& c) {
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

  if (auto* t = table("server")) read_server(*t, c.server);
  if (const toml::node* n = root.get("listener")) read_listeners(*n, c);
  if (auto* t = table("limits")) read_limits(*t, c.limits);
  if (auto* t = table("tls")) read_tls(*t, c.tls);
  if (auto* t = table("queue")) read_queue(*t, c.queue);
  if (auto* t = table("directory")) read_directory(*t, c.directory);
  if (auto* t = table("delivery")) read_delivery(*t, c.delivery);
  if (auto* t = table("metrics")) read_metrics(*t, c.metrics);
  if (auto* t = table("log")) read_log(*t, c.log);
  if (auto* t = table("dns")) read_dns(*t, c.dns);
}

}  // namespace mailroom::config
