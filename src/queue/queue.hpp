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

#include "spool/envelope.hpp"

namespace mailroom::queue {

using spool::Envelope;
using spool::EnvelopeRecipient;

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
