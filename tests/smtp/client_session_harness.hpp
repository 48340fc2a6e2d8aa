// Test support for smtp/client_session: plays the server's side by feeding reply bytes, and
// records everything the engine sent and reported.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "smtp/client_session.hpp"

namespace mailroom::smtp::testing {

// Postfix 3.7's EHLO reply (PIPELINING, no BINARYMIME, no AUTH before TLS).
inline constexpr std::string_view kPostfixEhlo =
    "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
    "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n"
    "250 CHUNKING\r\n";
// Seed 002: Exchange 2016 (CHUNKING and BINARYMIME, AUTH NTLM only).
inline constexpr std::string_view kExchangeEhlo =
    "250-mail1.fabrikam.com Hello [172.16.0.5]\r\n250-SIZE 37748736\r\n250-PIPELINING\r\n"
    "250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250-X-ANONYMOUSTLS\r\n"
    "250-AUTH NTLM\r\n250-X-EXPS GSSAPI NTLM\r\n250-8BITMIME\r\n250-BINARYMIME\r\n"
    "250-CHUNKING\r\n250 XRDST\r\n";
// A minimal ESMTP server: no PIPELINING, no DSN, no SMTPUTF8.
inline constexpr std::string_view kPlainEhlo =
    "250-mx.example.org Hello\r\n250-SIZE 1000\r\n250 8BITMIME\r\n";
inline constexpr std::string_view kBanner =
    "220 mail1.fabrikam.com Microsoft ESMTP MAIL Service ready at Fri, 5 Aug 2016 16:24:41 "
    "-0700\r\n";

inline ClientOptions client_options(TlsPolicy tls = TlsPolicy::None) {
  ClientOptions o;
  o.helo_name = "client.example.net";
  o.tls = tls;
  return o;
}

inline OutboundMessage message(std::vector<std::string> recipients,
                               std::optional<std::uint64_t> size = 100) {
  OutboundMessage m;
  m.sender = "chris@contoso.com";
  for (auto& r : recipients) m.recipients.push_back(OutboundRecipient{std::move(r), 0, ""});
  m.size = size;
  return m;
}

struct Harness {
  ClientSession s;
  std::vector<ClientEvent> events;
  std::string sent;

  explicit Harness(ClientOptions o = client_options()) : s(std::move(o)) { pump(); }

  // Collects output and events; returns the output of this step.
  std::string pump() {
    std::string out = s.take_output();
    sent += out;
    for (auto& e : s.take_events()) events.push_back(std::move(e));
    return out;
  }
  std::string connect() {
    s.on_connected();
    return pump();
  }
  std::string server(std::string_view bytes) {
    s.on_bytes(bytes);
    return pump();
  }
  // Banner and EHLO reply: the session is then Ready (asserted by the caller).
  std::string greet(std::string_view ehlo_reply) {
    connect();
    server(kBanner);
    return server(ehlo_reply);
  }

  template <typename T>
  std::vector<T> all() const {
    std::vector<T> out;
    for (const auto& e : events) {
      if (const T* t = std::get_if<T>(&e)) out.push_back(*t);
    }
    return out;
  }
  template <typename T>
  std::size_t count() const {
    return all<T>().size();
  }
  std::vector<std::string> transcript() const {
    std::vector<std::string> out;
    for (const auto& e : events) {
      if (const auto* c = std::get_if<CommandSent>(&e)) out.push_back("C: " + c->line);
      if (const auto* r = std::get_if<ReplyReceived>(&e)) {
        for (const auto& l : r->lines) out.push_back("S: " + l);
      }
    }
    return out;
  }
};

// "index:code enhanced" for each RecipientResult, e.g. "1:550 5.1.1", for compact assertions.
inline std::vector<std::string> verdicts(const Harness& h) {
  std::vector<std::string> out;
  for (const auto& r : h.all<RecipientResult>()) {
    out.push_back(std::to_string(r.recipient) + ":" + std::to_string(r.reply.code) +
                  (r.reply.enhanced.empty() ? "" : " " + r.reply.enhanced));
  }
  return out;
}

}  // namespace mailroom::smtp::testing
