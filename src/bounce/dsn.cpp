#include "bounce/dsn.hpp"

#include <fmt/format.h>

#include "util/rfc5322_date.hpp"

namespace mailroom::bounce {
namespace {

// The RFC 3463 status code at the start of a reason ("5.1.1 user unknown" -> "5.1.1").
std::string status_of(const std::string& reason, DsnAction action) {
  auto sp = reason.find(' ');
  std::string code = reason.substr(0, sp);
  bool ok =
      code.size() >= 5 && (code[0] == '2' || code[0] == '4' || code[0] == '5') && code[1] == '.';
  if (ok) return code;
  switch (action) {
    case DsnAction::Delivered:
    case DsnAction::Relayed:
      return "2.0.0";
    case DsnAction::Delayed:
      return "4.0.0";
    case DsnAction::Failed:
      break;
  }
  return "5.0.0";
}

// Header-safe text: no CR/LF (folding is not needed for our own diagnostics).
std::string one_line(std::string_view s) {
  std::string out;
  for (char c : s) out += (c == '\r' || c == '\n') ? ' ' : c;
  return out;
}

}  // namespace

const char* to_string(DsnAction a) {
  switch (a) {
    case DsnAction::Failed:
      return "failed";
    case DsnAction::Delivered:
      return "delivered";
    case DsnAction::Relayed:
      return "relayed";
    case DsnAction::Delayed:
      return "delayed";
  }
  return "failed";
}

bool wants_dsn(const std::string& sender, const spool::EnvelopeRecipient& r, DsnAction action) {
  if (sender.empty()) return false;
  if (r.notify & smtp::kNotifyNever) return false;
  switch (action) {
    case DsnAction::Delivered:
    case DsnAction::Relayed:
      return (r.notify & smtp::kNotifySuccess) != 0;
    case DsnAction::Delayed:
      return r.notify == smtp::kNotifyDefault || (r.notify & smtp::kNotifyDelay) != 0;
    case DsnAction::Failed:
      break;
  }
  return r.notify == smtp::kNotifyDefault || (r.notify & smtp::kNotifyFailure) != 0;
}

bool returns_full_message(const spool::Envelope& original, DsnAction action,
                          std::uint64_t original_size) {
  if (original.ret == "HDRS") return false;
  // Binary content cannot travel inside message/rfc822 (RFC 2046 5.2.1 allows only 7bit and
  // 8bit there) and the DSN is not sent with BODY=BINARYMIME: its headers are returned instead.
  if (original.body_type == "BINARYMIME") return false;
  // RET governs failure reports (RFC 3461 4.3); the others carry headers unless RET=FULL.
  if (action != DsnAction::Failed && original.ret != "FULL") return false;
  return original_size <= kFullReturnLimitBytes || original.ret == "FULL";
}

std::string build_dsn(const DsnRequest& q) {
  const bool failed = q.action == DsnAction::Failed;
  const std::string boundary = fmt::format("{}/{}", q.dsn_id, q.reporting_mta);
  const std::string date = util::rfc5322_date(static_cast<std::time_t>(q.now_unix));
  std::string m;
  // RFC 5321 4.4: a trace field for the message this MTA originates, as Postfix's bounce does.
  m +=
      fmt::format("Received: by {} (mailroom) id {};\r\n\t{}\r\n", q.reporting_mta, q.dsn_id, date);
  m += fmt::format("From: Mail Delivery System <MAILER-DAEMON@{}>\r\n", q.reporting_mta);
  m += fmt::format("To: <{}>\r\n", q.original.sender);
  const bool delayed = q.action == DsnAction::Delayed;
  m += failed    ? "Subject: Undelivered Mail Returned to Sender\r\n"
       : delayed ? "Subject: Delayed Mail (still being retried)\r\n"
                 : "Subject: Successful Mail Delivery Report\r\n";
  m += fmt::format("Date: {}\r\n", date);
  m += fmt::format("Message-ID: <{}@{}>\r\n", q.dsn_id, q.reporting_mta);
  m += "Auto-Submitted: auto-replied\r\n";  // RFC 3834: no auto-reply to this
  m += "MIME-Version: 1.0\r\n";
  m += fmt::format(
      "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{}\"\r\n",
      boundary);
  m += "\r\nThis is a MIME-encapsulated message.\r\n\r\n";

  // Part 1: for people.
  m += fmt::format("--{}\r\n", boundary);
  m += "Content-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
  m += fmt::format("This is the mail system at host {}.\r\n\r\n", q.reporting_mta);
  if (failed) {
    m += "I'm sorry to have to inform you that your message could not\r\n"
         "be delivered to one or more recipients. It's attached below.\r\n\r\n";
  } else if (delayed) {
    m += "Your message could not yet be delivered to the recipient(s) listed\r\n"
         "below. The mail system keeps trying; you do not need to send it again.\r\n";
    if (q.will_retry_until_unix > 0)
      m += fmt::format("It gives up at {}.\r\n",
                       util::rfc5322_date(static_cast<std::time_t>(q.will_retry_until_unix)));
    m += "\r\n";
  } else {
    m += "Your message was successfully delivered to the destination(s)\r\n"
         "listed below. Where it says \"relayed\", it was handed to a server that\r\n"
         "does not report delivery, and no further notice will come from there.\r\n\r\n";
  }
  for (const auto& r : q.recipients) {
    m += fmt::format("<{}>: {}\r\n", r.recipient.address, one_line(r.reason));
    if (r.action == DsnAction::Relayed) m += "    (relayed to a server without DSN support)\r\n";
  }
  m += "\r\n";

  // Part 2: for programs (RFC 3464 section 2).
  m += fmt::format("--{}\r\n", boundary);
  m += "Content-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n";
  m += fmt::format("Reporting-MTA: dns; {}\r\n", q.reporting_mta);
  m += fmt::format("X-Mailroom-Queue-ID: {}\r\n", q.original.id);
  if (!q.original.envid.empty())
    m += fmt::format("Original-Envelope-Id: {}\r\n", one_line(q.original.envid));
  m += fmt::format("Arrival-Date: {}\r\n",
                   util::rfc5322_date(static_cast<std::time_t>(q.original.arrival_unix)));
  for (const auto& r : q.recipients) {
    m += "\r\n";
    if (!r.recipient.orcpt.empty()) {
      auto semi = r.recipient.orcpt.find(';');
      if (semi != std::string::npos)
        m += fmt::format("Original-Recipient: {}; {}\r\n", r.recipient.orcpt.substr(0, semi),
                         one_line(r.recipient.orcpt.substr(semi + 1)));
    }
    m += fmt::format("Final-Recipient: rfc822; {}\r\n", r.recipient.address);
    m += fmt::format("Action: {}\r\n", to_string(r.action));
    m += fmt::format("Status: {}\r\n", status_of(r.reason, r.action));
    if (!r.remote_mta.empty()) {
      // "host[address]:port" -> the host name (RFC 3464 2.3.5: mta-name-type "dns").
      auto name = r.remote_mta.substr(0, r.remote_mta.find('['));
      m += fmt::format("Remote-MTA: dns; {}\r\n", one_line(name.empty() ? r.remote_mta : name));
    }
    if (!r.diagnostic.empty()) {
      m += fmt::format("Diagnostic-Code: smtp; {}\r\n", one_line(r.diagnostic));
    } else {
      m += fmt::format("Diagnostic-Code: X-Mailroom; {}\r\n", one_line(r.reason));
    }
    if (r.last_attempt_unix > 0)
      m += fmt::format("Last-Attempt-Date: {}\r\n",
                       util::rfc5322_date(static_cast<std::time_t>(r.last_attempt_unix)));
    if (r.action == DsnAction::Delayed && q.will_retry_until_unix > 0)
      m += fmt::format("Will-Retry-Until: {}\r\n",
                       util::rfc5322_date(static_cast<std::time_t>(q.will_retry_until_unix)));
  }
  m += "\r\n";

  // Part 3: the original, whole or headers only.
  m += fmt::format("--{}\r\n", boundary);
  if (returns_full_message(q.original, q.action, q.original_size) &&
      q.original_message.size() == q.original_size) {
    m += failed    ? "Content-Description: Undelivered Message\r\n"
         : delayed ? "Content-Description: Delayed Message\r\n"
                   : "Content-Description: Delivered Message\r\n";
    m += "Content-Type: message/rfc822\r\n";
    if (q.original.body_type == "8BITMIME" || q.original.smtputf8)
      m += "Content-Transfer-Encoding: 8bit\r\n";
    m += "\r\n";
    m += q.original_message;
    if (!q.original_message.empty() && q.original_message.back() != '\n') m += "\r\n";
  } else {
    m += "Content-Description: Message Headers\r\nContent-Type: text/rfc822-headers\r\n";
    if (q.original.smtputf8) m += "Content-Transfer-Encoding: 8bit\r\n";
    m += "\r\n";
    m += q.original_headers;
  }
  m += fmt::format("\r\n--{}--\r\n", boundary);
  return m;
}

spool::Envelope dsn_envelope(const DsnRequest& q) {
  spool::Envelope e;
  e.id = q.dsn_id;
  e.sender = "";  // RFC 5321 6.1: notifications use the null reverse-path
  e.recipients.push_back({q.original.sender, "", smtp::kNotifyNever});
  e.body_type =
      (q.original.body_type == "7BIT" || q.original.body_type.empty()) ? "7BIT" : "8BITMIME";
  e.smtputf8 = q.original.smtputf8;
  e.client_ip = "127.0.0.1";
  e.client_helo = q.reporting_mta;
  e.listener = "bounce";
  e.arrival_unix = q.now_unix;
  return e;
}

}  // namespace mailroom::bounce
