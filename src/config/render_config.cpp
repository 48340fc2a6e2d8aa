// render_config (config.hpp): the effective configuration as TOML that parse_config reads back
// to the same Config (config_test checks the round trip; config_diff compares renderings).
#include <fmt/format.h>
#include <toml++/toml.h>

#include <sstream>

#include "config/config.hpp"

namespace mailroom::config {
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
