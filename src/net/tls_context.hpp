// server/tls_context: the OpenSSL context shared by all STARTTLS and implicit-TLS listeners.
//
// Loads [tls] cert_file/key_file, or on first start generates a self-signed ECDSA P-256
// certificate for server.hostname into data_dir/tls/ (P-256 handshakes cost about half of
// RSA-2048's). TLS 1.2 minimum; SSL_MODE_RELEASE_BUFFERS so idle sessions do not hold ~67 KB of
// TLS buffers each. Throws std::runtime_error with one line when the files cannot be used.
//
// Configured files are checked by check_tls_files() first, the one check that `mailroom
// check-config` and `mailroom serve` share: a certificate or key that cannot be loaded, or that do
// not match, is a configuration error (exit 2, one line naming tls.cert_file or tls.key_file),
// never a server that runs on without STARTTLS. Only the generated default may fail softly.
#pragma once

#include <asio/ssl.hpp>
#include <memory>

#include "config/config.hpp"

namespace mailroom::net {

// Loads [tls] cert_file and key_file (when set) and checks that they belong together (OpenSSL's
// SSL_CTX_check_private_key). Throws config::ConfigError naming the key: "tls.cert_file: cannot
// load certificate ...", "tls.key_file: ... does not match ...". Does nothing when none is set.
void check_tls_files(const config::TlsConfig& tls);

std::unique_ptr<asio::ssl::context> make_tls_context(const config::Config& cfg);

// Writes a self-signed ECDSA P-256 certificate and key (mode 0600) for `hostname`.
void generate_self_signed(const std::string& hostname, const std::string& cert_path,
                          const std::string& key_path);

}  // namespace mailroom::net
