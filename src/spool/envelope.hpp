// spool/envelope: what the queue records about a message besides its bytes — the SMTP envelope
// (RFC 5321 2.3.1) with its DSN parameters (RFC 3461), and where the message came from.
//
// Shared by every stage: the server fills it in, the queue file stores it (queue_file.hpp), the
// delivery agents and the DSN builder read it. Plain data; encoding is queue_file's job.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "smtp/mail_args.hpp"

namespace mailroom::spool {

struct EnvelopeRecipient {
  std::string address;                     // as accepted in RCPT TO (after source-route stripping)
  std::string orcpt;                       // RFC 3461 ORCPT, "addr-type;xtext-decoded" or empty
  unsigned notify = smtp::kNotifyDefault;  // smtp::kNotify* bits
};

struct Envelope {
  std::string id;      // the message id also shown in the 250 reply (message_id.hpp)
  std::string sender;  // reverse-path without brackets; "" for the null sender <>
  std::vector<EnvelopeRecipient> recipients;
  std::string ret;        // RFC 3461 RET: "FULL", "HDRS" or ""
  std::string envid;      // RFC 3461 ENVID (xtext-decoded) or ""
  std::string body_type;  // "7BIT", "8BITMIME", "BINARYMIME" (RFC 6152/3030)
  bool smtputf8 = false;  // RFC 6531
  std::string client_ip;
  std::string client_helo;
  std::string auth_user;  // authenticated identity or ""
  std::string listener;   // which receive connector took it
  std::int64_t arrival_unix = 0;
};

}  // namespace mailroom::spool
