// config: the effective configuration of a mailroom instance.
//
// Owns the TOML schema (`[server]`, `[[listener]]`, `[queue]`, `[directory]`, `[limits]`), its
// embedded defaults, and validation. Every limit the server enforces is a field here, with
// Postfix's default where RFC 5321 leaves the value open. Loading never half-succeeds: a bad key
// yields a ConfigError naming it, and nothing else.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::config {

// A bad configuration: `what()` is one line naming the key, e.g. "listener[0].tls: must be ...".
// The message is always one line: control octets in it (a quoted TOML key may hold "\n", and
// values and toml++'s own messages are echoed) are shown escaped, so a log line or the one-line
// error of `mailroom check-config` cannot be split or forged by the configuration's text.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::string_view message);
};

enum class TlsMode { None, StartTls, Implicit };
enum class AuthMode { None, Optional, Required };
enum class RelayMode { None, Authenticated, Ranges };

const char* to_string(TlsMode);
const char* to_string(AuthMode);
const char* to_string(RelayMode);

// One receive connector, as Exchange calls them: its own port, client ranges and policy.
struct ListenerConfig {
  std::string name = "inbound";
  std::string address = "127.0.0.1:2525";  // host:port, or [v6]:port
  std::vector<std::string> remote_ranges = {"0.0.0.0/0", "::/0"};
  TlsMode tls = TlsMode::StartTls;
  AuthMode auth = AuthMode::Optional;
  RelayMode relay = RelayMode::None;
  std::vector<std::string> relay_ranges;
  // RFC 4954 section 4: AUTH PLAIN/LOGIN over plaintext exposes passwords; only offered after
  // TLS unless this is set (or the listener has no TLS at all and this is set).
  bool allow_plaintext_auth = false;
  std::uint64_t max_message_size = 37748736;  // the seeds' SIZE
  std::uint32_t max_recipients = 200;
  std::uint32_t max_connections = 1000;  // concurrent sessions on this listener
  std::uint32_t max_connections_per_client = 50;
  // New sessions one client address may open per limits.client_rate_window_s; beyond it the
  // session gets a 421 greeting. 0 = off (Postfix smtpd_client_connection_rate_limit).
  std::uint32_t max_connection_rate_per_client = 0;
  // An authenticated user may send only as an address it owns: its mailbox, a plus form of it,
  // or an alias that delivers to it (Postfix's reject_sender_login_mismatch); else 553 5.7.1.
  bool enforce_sender_login = true;
  std::vector<std::string> sender_login_exceptions;  // logins allowed any sender (a web mailer)
  bool protocol_log = false;  // every command and reply in [log] directory (journal/protocol_log)
};

// Limits shared by all listeners; names and defaults follow Postfix's smtpd_* parameters.
struct LimitsConfig {
  std::uint32_t hard_error_limit = 20;  // smtpd_hard_error_limit: then 421 and close
  std::uint32_t soft_error_limit = 10;  // smtpd_soft_error_limit: then error_delay_ms per reply
  std::uint32_t error_delay_ms = 1000;  // smtpd_error_sleep_time
  std::uint32_t max_command_line_bytes = 2048;  // RFC 5321 4.5.3.1.4 minimum is 512
  // RFC 5321 4.5.3.1.6 sets 1000 (incl. CRLF) for senders but asks receivers to be lenient;
  // Postfix's line_length_limit is 2048. Longer lines reject the message with 554 5.6.0.
  std::uint32_t max_text_line_bytes = 2048;
  std::uint32_t idle_timeout_s = 300;           // smtpd_timeout; RFC 5321 4.5.3.2.7 asks >= 5 min
  std::uint32_t session_timeout_s = 3600;       // total session time
  std::uint32_t data_timeout_s = 600;           // RFC 5321 4.5.3.2.6: 10 minutes per data block
  std::uint32_t min_data_rate_bytes_per_s = 0;  // 0 = off; slow-drip defence during DATA
  std::uint32_t max_connections = 10000;        // global; beyond it: 421 greeting then close
  std::uint32_t auth_failure_limit = 3;         // per session, then 421
  std::uint32_t auth_failure_delay_ms = 1000;   // delay before each 535
  // Per client address, across sessions: after this many failures within auth_client_window_s
  // every AUTH from that address gets 421 until the window ends (a reconnect is no fresh start).
  std::uint32_t auth_client_failure_limit = 10;
  std::uint32_t auth_client_window_s = 900;
  std::uint32_t client_rate_window_s = 60;      // anvil_rate_time_unit, for connection rates
  std::uint32_t max_pipelined_commands = 1000;  // unanswered commands buffered per session
};

struct TlsConfig {
  std::string cert_file;  // empty: a self-signed ECDSA P-256 cert is generated into data_dir
  std::string key_file;
};

struct QueueConfig {
  std::uint32_t min_backoff_s = 300;         // minimal_backoff_time
  std::uint32_t max_backoff_s = 4000;        // maximal_backoff_time
  std::uint32_t max_lifetime_s = 5 * 86400;  // maximal_queue_lifetime
  std::uint32_t delivery_workers = 4;
  std::uint32_t scan_interval_s = 1;  // how often deferred recipients are looked at
  std::uint32_t spare_files = 1024;   // delivered queue files kept for reuse; 0: unlink them
  // A recipient still deferred this long after arrival gets one delay DSN (RFC 3461 NOTIFY=DELAY,
  // or no NOTIFY); Postfix's delay_warning_time, but on by default. 0: never.
  std::uint32_t delay_warning_s = 4 * 3600;
};

struct DirectoryConfig {
  std::string backend = "sqlite";  // "sqlite" | "postgresql"
  std::string url;                 // postgresql://...; sqlite: path (default data_dir/directory.db)
  bool plus_addressing = true;
  char recipient_delimiter = '+';
  std::uint32_t max_alias_depth = 10;
  std::uint32_t max_alias_fanout = 1000;
};

// How mail leaves this host (Postfix's smtp(8) and lmtp(8) parameters are the reference).
enum class OutboundTls { None, Opportunistic, Required, Verify };
const char* to_string(OutboundTls);

struct DeliveryConfig {
  // Local mailboxes: "maildir" (written by mailroom), or handed to an LMTP server (RFC 2033):
  // "lmtp:unix:/run/dovecot/lmtp" or "lmtp:127.0.0.1:24".
  std::string local = "maildir";
  // Every non-local recipient goes here instead of to its domain's MX hosts: "[host]:port" or
  // "[host]" (used as is), "host" or "host:port" (its MX hosts), as Postfix's relayhost.
  std::string relayhost;
  std::string relayhost_username;  // AUTH PLAIN/LOGIN to the relayhost when set
  std::string relayhost_password;
  bool relayhost_plaintext_auth = false;  // credentials only over TLS unless set
  std::uint32_t remote_port = 25;         // MX hosts' port (tests deliver to loopback peers)
  OutboundTls tls = OutboundTls::Opportunistic;
  // Per destination domain, overriding `tls` (Postfix's smtp_tls_policy_maps): "example.org" or
  // ".example.org" (its subdomains) -> "none" | "opportunistic" | "required" | "verify".
  std::vector<std::pair<std::string, OutboundTls>> tls_policy;
  std::string tls_ca_file;              // extra trust anchors for "verify", besides the system's
  std::string helo_name;                // EHLO name; empty: server.hostname
  bool use_bdat = false;                // BDAT when offered (BINARYMIME messages always use it)
  std::uint32_t max_hops = 50;          // Received: headers before a message bounces 5.4.6 (loop)
  std::uint32_t max_mx_hosts = 10;      // MX hosts tried per destination, best first
  std::uint32_t max_connections = 100;  // outbound, all destinations
  std::uint32_t max_connections_per_destination = 20;  // default_destination_concurrency_limit
  std::uint32_t connection_cache_s = 2;                // idle connection kept for the next message
  std::uint32_t connection_reuse_limit = 100;          // messages per connection
  std::uint32_t destination_backoff_s = 60;  // a destination that failed whole rests this long
  // Postfix's smtp_*_timeout defaults.
  std::uint32_t connect_timeout_s = 30;
  std::uint32_t helo_timeout_s = 300;  // banner, EHLO, STARTTLS, AUTH
  std::uint32_t mail_timeout_s = 300;
  std::uint32_t rcpt_timeout_s = 300;
  std::uint32_t data_init_timeout_s = 120;
  std::uint32_t data_xfer_timeout_s = 180;
  std::uint32_t data_done_timeout_s = 600;
  std::uint32_t quit_timeout_s = 300;
  bool protocol_log = false;  // outbound SMTP/LMTP dialogues in the protocol log
};

struct MetricsConfig {
  std::string address;  // "127.0.0.1:9325": Prometheus text at GET /metrics; empty: off
};

// The protocol and message tracking logs (journal/log_options.hpp has the rotation rules).
struct LogConfig {
  std::string directory;  // empty: <data_dir>/log
  bool tracking = true;   // the message tracking log (`mailroom track`)
  std::uint64_t max_file_bytes = 10ull << 20;
  std::uint32_t rotate_interval_s = 86400;
  std::uint32_t max_age_days = 30;
  std::uint64_t max_total_bytes = 1ull << 30;  // per log
  std::uint32_t queue_lines = 65536;
};

struct DnsConfig {
  std::vector<std::string> servers;  // "127.0.0.1:5353"; empty: the system's resolv.conf
  std::uint32_t timeout_ms = 2000;
};

struct ServerConfig {
  std::string hostname;  // FQDN: banner, EHLO, Received:, message ids
  std::string data_dir = "./mailroom-data";
  std::string banner = "mailroom ESMTP MAIL Service";
  std::vector<std::string> local_domains = {"example.test"};
  std::string user;  // drop privileges to this user when started as root
  std::string log_level = "info";
  // On SIGTERM/SIGINT: sessions in DATA/BDAT may finish their message for this long, the others
  // get 421 4.3.2 at once (server/shutdown.hpp). 30 s: a message at a slow client's pace, and
  // well inside systemd's 90 s stop timeout and Kubernetes' default 30 s grace.
  std::uint32_t shutdown_grace_s = 30;
};

struct Config {
  ServerConfig server;
  std::vector<ListenerConfig> listeners;
  bool default_listeners = true;  // no [[listener]] in the file: the embedded two apply
  LimitsConfig limits;
  TlsConfig tls;
  QueueConfig queue;
  DirectoryConfig directory;
  DeliveryConfig delivery;
  DnsConfig dns;
  MetricsConfig metrics;
  LogConfig log;

  // Where things live inside data_dir.
  std::string log_dir() const;
  std::string queue_dir() const;
  std::string mailbox_root() const;
  std::string directory_db_path() const;
};

// The embedded defaults: an `inbound` listener on 127.0.0.1:2525 (anonymous, no relay) and a
// `submission` listener on 127.0.0.1:2587 (auth required before MAIL, relay after auth).
Config default_config();

// The host part of a listener address: "[::1]:25" -> "::1", "*:25" -> "*".
std::string listener_host(std::string_view address);

// Parses TOML text; keys absent from the text keep their embedded defaults, except that a file
// with any [[listener]] replaces the default listeners. Throws ConfigError.
Config parse_config(const std::string& toml_text, const std::string& source_name = "config");
Config load_config_file(const std::string& path);

// Loads `path`, or the defaults when `path` is empty.
Config load_config(const std::optional<std::string>& path);

// The effective config as TOML, for `mailroom check-config`.
std::string render_config(const Config&);

// The system's host name (fallback "localhost").
std::string system_hostname();

}  // namespace mailroom::config
