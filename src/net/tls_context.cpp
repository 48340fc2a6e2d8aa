#include "net/tls_context.hpp"

#include <fmt/format.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>

namespace mailroom::net {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(fmt::format("tls: {}", what));
}

void write_pem(const std::string& path, mode_t mode, const std::function<int(FILE*)>& writer) {
  auto tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) fail(fmt::format("cannot write {}", tmp));
  ::chmod(tmp.c_str(), mode);
  bool ok = writer(f) == 1;
  ok = std::fflush(f) == 0 && ::fsync(fileno(f)) == 0 && ok;
  std::fclose(f);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0)
    fail(fmt::format("cannot write {}", path));
}

// The reason of the oldest queued OpenSSL error, and an empty queue.
std::string openssl_reason() {
  unsigned long code = ERR_peek_error();
  const char* reason = code ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason ? reason : "unknown OpenSSL error";
}

// "No such file or directory" and the like, which say more than OpenSSL's "system lib".
std::optional<std::string> unreadable(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return std::string(std::strerror(errno));
  std::fclose(f);
  return std::nullopt;
}

}  // namespace

void check_tls_files(const config::TlsConfig& tls) {
  if (tls.cert_file.empty() && tls.key_file.empty()) return;
  auto bad = [](const char* key, const std::string& why) {
    throw config::ConfigError(fmt::format("tls.{}: {}", key, why));
  };
  std::unique_ptr<SSL_CTX, Deleter<SSL_CTX, SSL_CTX_free>> ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) bad("cert_file", "cannot create a TLS context: " + openssl_reason());
  ERR_clear_error();
  if (auto why = unreadable(tls.cert_file))
    bad("cert_file", fmt::format("cannot read \"{}\": {}", tls.cert_file, *why));
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert_file.c_str()) != 1)
    bad("cert_file", fmt::format("cannot load a PEM certificate from \"{}\": {}", tls.cert_file,
                                 openssl_reason()));
  if (auto why = unreadable(tls.key_file))
    bad("key_file", fmt::format("cannot read \"{}\": {}", tls.key_file, *why));
  PkeyPtr key;
  if (FILE* f = std::fopen(tls.key_file.c_str(), "r")) {
    // No passphrase callback: OpenSSL's default one would ask on the terminal and wait.
    auto no_passphrase = [](char*, int, int, void*) { return 0; };
    key.reset(PEM_read_PrivateKey(f, nullptr, no_passphrase, nullptr));
    std::fclose(f);
  }
  if (!key)
    bad("key_file", fmt::format("cannot load a PEM private key from \"{}\": {}", tls.key_file,
                                openssl_reason()));
  // SSL_CTX_use_PrivateKey already refuses a key of another certificate ("key values mismatch").
  if (SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    bad("key_file", fmt::format("the key in \"{}\" does not match the certificate in \"{}\"",
                                tls.key_file, tls.cert_file));
  }
}

void generate_self_signed(const std::string& hostname, const std::string& cert_path,
                          const std::string& key_path) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) fail("cannot generate an ECDSA P-256 key");
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), static_cast<long>(std::time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(hostname.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  auto san = fmt::format("DNS:{}", hostname);
  if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str())) {
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) fail("cannot sign certificate");
  write_pem(key_path, 0600, [&](FILE* f) {
    return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  write_pem(cert_path, 0644, [&](FILE* f) { return PEM_write_X509(f, cert.get()); });
}

std::unique_ptr<asio::ssl::context> make_tls_context(const config::Config& cfg) {
  std::string cert = cfg.tls.cert_file, key = cfg.tls.key_file;
  check_tls_files(cfg.tls);
  if (cert.empty()) {
    auto dir = cfg.server.data_dir + "/tls";
    std::filesystem::create_directories(dir);
    ::chmod(dir.c_str(), 0700);
    cert = dir + "/cert.pem";
    key = dir + "/key.pem";
    if (!std::filesystem::exists(cert) || !std::filesystem::exists(key))
      generate_self_signed(cfg.server.hostname, cert, key);
  }
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  SSL_CTX_set_mode(ctx->native_handle(), SSL_MODE_RELEASE_BUFFERS);
  // Session tickets let clients resume and skip the full handshake on reconnect.
  SSL_CTX_set_session_cache_mode(ctx->native_handle(), SSL_SESS_CACHE_SERVER);
  std::error_code ec;
  ctx->use_certificate_chain_file(cert, ec);
  if (ec) fail(fmt::format("cannot load certificate {}: {}", cert, ec.message()));
  ctx->use_private_key_file(key, asio::ssl::context::pem, ec);
  if (ec) fail(fmt::format("cannot load key {}: {}", key, ec.message()));
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    fail(fmt::format("key {} does not match certificate {}", key, cert));
  return ctx;
}

}  // namespace mailroom::net
