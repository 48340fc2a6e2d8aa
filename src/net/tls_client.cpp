#include "net/tls_client.hpp"

#include <fmt/format.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <stdexcept>

namespace mailroom::net {
namespace {

std::string name_text(X509_NAME* name) {
  if (!name) return "";
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

std::string time_text(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return "";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

}  // namespace

std::unique_ptr<asio::ssl::context> make_client_tls_context(const ClientTlsOptions& options) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  // Verification runs and is recorded, but does not abort the handshake (see header).
  SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
  if (options.system_trust_store) SSL_CTX_set_default_verify_paths(native);
  if (!options.ca_file.empty() &&
      SSL_CTX_load_verify_locations(native, options.ca_file.c_str(), nullptr) != 1)
    throw std::runtime_error(fmt::format("tls: cannot load CA file {}", options.ca_file));
  return ctx;
}

TlsPeerReport tls_peer_report(SSL* ssl) {
  TlsPeerReport r;
  if (!ssl) return r;
  r.protocol = SSL_get_version(ssl);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) r.cipher = SSL_CIPHER_get_name(c);
  r.verify_result = SSL_get_verify_result(ssl);
  r.verify_error = X509_verify_cert_error_string(r.verify_result);
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl)) r.chain_length = sk_X509_num(chain);
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) {
    // No certificate is never trusted, whatever the (default) verify result says.
    r.verify_result = X509_V_ERR_UNSPECIFIED;
    r.verify_error = "no certificate presented";
    return r;
  }
  r.has_certificate = true;
  r.subject = name_text(X509_get_subject_name(cert));
  r.issuer = name_text(X509_get_issuer_name(cert));
  r.not_before = time_text(X509_get0_notBefore(cert));
  r.not_after = time_text(X509_get0_notAfter(cert));
  r.expired = X509_cmp_current_time(X509_get0_notAfter(cert)) < 0;
  r.not_yet_valid = X509_cmp_current_time(X509_get0_notBefore(cert)) > 0;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
    if (gn->type != GEN_DNS) continue;
    const auto* s = gn->d.dNSName;
    r.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                             static_cast<std::size_t>(ASN1_STRING_length(s)));
  }
  GENERAL_NAMES_free(sans);
  X509_free(cert);
  return r;
}

}  // namespace mailroom::net
