// net/tls_client: the client role of TLS — the context outbound connections use, and a report of
// what the peer presented (for the delivery policy, logs and the tester's certificate report).
//
// The handshake never fails over the certificate: OpenSSL verifies the chain against the trust
// store and the name given to BasicTransport::start_tls (SSL_set1_host), and records the result;
// the caller's policy reads it from the report and decides (Postfix's smtp_tls_security_level:
// "may" takes any certificate, "encrypt" needs TLS, "verify" needs a trusted chain and a matching
// name). TLS 1.2 minimum (RFC 8996 retires 1.0 and 1.1).
// Never: treat a handshake that succeeded as a verified peer; read trusted() for that.
#pragma once

#include <openssl/ssl.h>

#include <asio/ssl.hpp>
#include <memory>
#include <string>
#include <vector>

namespace mailroom::net {

struct ClientTlsOptions {
  std::string ca_file;             // extra trust anchors (PEM), e.g. a private CA in tests
  bool system_trust_store = true;  // the system's CA bundle (SSL_CTX_set_default_verify_paths)
};

// Throws std::runtime_error with one line when ca_file cannot be loaded.
std::unique_ptr<asio::ssl::context> make_client_tls_context(const ClientTlsOptions& options);

struct TlsPeerReport {
  std::string protocol;  // "TLSv1.3"
  std::string cipher;    // "TLS_AES_256_GCM_SHA384"
  bool has_certificate = false;
  std::string subject;  // RFC 2253 text, e.g. "CN=mx.example.test"
  std::string issuer;
  std::vector<std::string> dns_names;  // subjectAltName DNS entries
  std::string not_before;              // "2026-11-30 09:00:00 UTC"
  std::string not_after;
  bool expired = false;
  bool not_yet_valid = false;
  int chain_length = 0;      // certificates the peer sent
  long verify_result = 0;    // X509_V_OK (0) when the chain is trusted and the name matched
  std::string verify_error;  // OpenSSL's text for verify_result
  bool trusted() const { return has_certificate && verify_result == 0; }
};

TlsPeerReport tls_peer_report(SSL* ssl);

}  // namespace mailroom::net
