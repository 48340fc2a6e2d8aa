// server/tls_context: the OpenSSL context shared by all STARTTLS and implicit-TLS listeners.
//
// Loads [tls] cert_file/key_file, or on first start generates a self-signed ECDSA P-256
// certificate for server.hostname into data_dir/tls/ (P-256 handshakes cost about half of
// RSA-2048's). TLS 1.2 minimum; SSL_MODE_RELEASE_BUFFERS so idle sessions do not hold ~67 KB of
// TLS buffers each. Throws std::runtime_error with one line when the files cannot be used.
#pragma once

#include <asio/ssl.hpp>
#include <memory>

#include "config/config.hpp"

namespace mailroom::net {

std::unique_ptr<asio::ssl::context> make_tls_context(const config::Config& cfg);

// Writes a self-signed ECDSA P-256 certificate and key (mode 0600) for `hostname`.
void generate_self_signed(const std::string& hostname, const std::string& cert_path,
                          const std::string& key_path);

}  // namespace mailroom::net
