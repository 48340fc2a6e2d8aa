// queue: the durable store behind "250 2.6.0 <id> Queued mail for delivery".
//
// Contract with the receiving side (server/): a session creates an IncomingMessage, appends the
// message bytes as they arrive (memory first, spilling to data_dir/queue/incoming/ past a
// threshold, so per-session memory stays bounded), then calls commit(). The completion fires
// only once the message file, the envelope and their directory entries are fsync'd: only then
// may the session answer 250. Concurrent commits share fsyncs (group commit on a dedicated
// thread). A commit that fails (disk full, I/O error) completes with an error and leaves nothing
// behind; the session answers 452 4.3.1.
//
// The queue never loses a committed message: at start every committed message is recovered and
// every half-written file is removed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "config/config.hpp"

namespace mailroom::queue {

// RFC 3461 NOTIFY flags for one recipient.
enum NotifyFlags : unsigned {
  NotifyDefault = 0,  // no NOTIFY given: failure and delay notifications, per RFC 3461 4.1
  NotifyNever = 1,
  NotifySuccess = 2,
  NotifyFailure = 4,
  NotifyDelay = 8,
};

struct EnvelopeRecipient {
  std::string address;  // as accepted in RCPT TO (after source-route stripping)
  std::string orcpt;    // RFC 3461 ORCPT, "addr-type;xtext-decoded" or empty
  unsigned notify = NotifyDefault;
};

struct Envelope {
  std::string id;      // the message id also shown in the 250 reply
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

// A message being received. Not thread-safe; owned by one session until commit.
class IncomingMessage {
 public:
  virtual ~IncomingMessage() = default;
  Envelope envelope;
  // Appends message bytes (headers and body, CRLF line endings, already dot-unstuffed).
  // Returns an error (e.g. ENOSPC) if spilling to disk failed; the message is then unusable.
  virtual std::error_code append(std::string_view bytes) = 0;
  virtual std::uint64_t size() const = 0;
};

using CommitCallback = std::function<void(std::error_code)>;

class Queue {
 public:
  virtual ~Queue() = default;
  // A new globally unique id: sortable by time, safe in file names and Message-ID headers.
  virtual std::string new_message_id() = 0;
  virtual std::unique_ptr<IncomingMessage> begin(Envelope envelope) = 0;
  // Durably stores the message; `done` runs on an internal thread once fsync'd (or failed) —
  // the caller posts back to its own executor. Delivery is scheduled right after.
  virtual void commit(std::unique_ptr<IncomingMessage> message, CommitCallback done) = 0;
};

}  // namespace mailroom::queue
