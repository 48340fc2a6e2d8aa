// bounce/dsn: delivery status notifications (RFC 3464) for the queue.
//
// Builds the multipart/report; report-type=delivery-status message (RFC 6522) that tells a
// sender what happened to some recipients: "failed" (a bounce) or "delivered" (RFC 3461 NOTIFY=
// SUCCESS on final delivery). Per-message fields: Reporting-MTA, Original-Envelope-Id (ENVID),
// Arrival-Date; per recipient: Original-Recipient (ORCPT), Final-Recipient, Action, Status,
// Diagnostic-Code, Last-Attempt-Date. The third part returns the message: the full message
// (message/rfc822) for failures unless RET=HDRS or it exceeds kFullReturnLimitBytes (Postfix's
// bounce_size_limit), and only the headers (text/rfc822-headers) for success reports unless
// RET=FULL (RFC 3461 4.3). A BODY=BINARYMIME original is always returned as headers only, even
// with RET=FULL: binary content is not allowed inside message/rfc822 (RFC 2046 5.2.1), and
// re-encoding it would alter the content RFC 3030 says must pass unaltered.
//
// Who gets a DSN (RFC 3461 4.1, RFC 5321 6.1-6.2): never for the null sender (a bounce is never
// bounced), never for NOTIFY=NEVER; failures and delays when NOTIFY is absent or names them;
// deliveries (and relays to a next hop without DSN, RFC 3461 6.2.2) only with NOTIFY=SUCCESS.
// A DSN's kind (`action` of the request) sets its subject and opening words: a failure report,
// a delay warning ("still being retried"), or a success report; each recipient line carries its
// own Action, Status, Remote-MTA and Diagnostic-Code (smtp; with the remote server's reply when
// there was one). The DSN itself is queued with the null reverse-path and
// NOTIFY=NEVER to the original sender. Builds text only: queuing it is the caller's job.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spool/envelope.hpp"

namespace mailroom::bounce {

inline constexpr std::uint64_t kFullReturnLimitBytes = 50000;

// RFC 3464 2.3.3 Action values mailroom reports ("expanded" is not: an alias is delivered to
// each mailbox, and the alias itself reported once).
enum class DsnAction { Failed, Delivered, Relayed, Delayed };
const char* to_string(DsnAction);

// Whether recipient `r` of a message from `sender` should be reported for `action`.
bool wants_dsn(const std::string& sender, const spool::EnvelopeRecipient& r, DsnAction action);

struct DsnRecipient {
  spool::EnvelopeRecipient recipient;
  std::string reason;  // "5.1.1 <kate@example.test>: user unknown" (status first)
  std::int64_t last_attempt_unix = 0;
  DsnAction action = DsnAction::Failed;  // this recipient's; may differ within one DSN
  std::string remote_mta;  // "mx.example.org[192.0.2.1]:25": Remote-MTA (RFC 3464 2.3.5)
  std::string diagnostic;  // the remote reply: Diagnostic-Code: smtp; (RFC 3464 2.3.6)
};

struct DsnRequest {
  spool::Envelope original;
  DsnAction action = DsnAction::Failed;
  std::vector<DsnRecipient> recipients;
  std::string original_headers;  // header section of the original, CRLF
  std::string original_message;  // the whole original (may be empty when not returned)
  std::uint64_t original_size = 0;
  std::string reporting_mta;  // our hostname
  std::string dsn_id;         // queue id of the DSN itself (Message-ID, MIME boundary)
  std::int64_t now_unix = 0;
  std::int64_t will_retry_until_unix = 0;  // Delayed: when the queue gives up (RFC 3464 2.3.8)
};

// True when the request should carry the full original rather than headers only.
bool returns_full_message(const spool::Envelope& original, DsnAction action,
                          std::uint64_t original_size);

// The complete DSN message (CRLF line endings).
std::string build_dsn(const DsnRequest& request);

// The envelope the DSN is queued with: null sender, the original sender as only recipient.
spool::Envelope dsn_envelope(const DsnRequest& request);

}  // namespace mailroom::bounce
