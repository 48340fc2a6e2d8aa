// delivery/local_delivery: final delivery of queued messages to local mailboxes.
//
// For each recipient to attempt, the address is resolved through the directory at delivery time
// (aliases, catch-alls and plus-addressing may have changed since RCPT TO) and every resulting
// mailbox gets one copy in its Maildir (or the Maildir++ folder its plus tag names, if that
// folder exists). Each copy starts with the headers RFC 5321 4.4 asks of final delivery:
// `Return-Path: <reverse-path>` (`<>` for the null sender; any Return-Path already in the message
// is dropped) and `Delivered-To: <mailbox>`; a message that already carries our Delivered-To for
// that mailbox is a forwarding loop and fails with 5.4.6, as in Postfix's local(8).
//
// Outcomes per recipient (reason text always starts with the RFC 3463 status):
//   delivered  every mailbox has its copy
//   failed     5.1.1 unknown user, 5.4.6 alias loop or forwarding loop, 5.1.3 unusable name
//   deferred   4.x: mailbox write errors (4.2.2 quota, 4.3.1 disk full, 4.3.0 other) and
//              non-local targets (relayed recipients, alias forwards): remote (MX) delivery is
//              not built yet, so they wait with reason "4.4.0 remote delivery not available",
//              retried on the queue's backoff, never reported as delivered and never dropped:
//              when the queue lifetime ([queue] max_lifetime_s, 5 days) ends they fail with
//              4.4.7 and the sender gets a DSN, like any other undeliverable recipient.
// A recipient is delivered to a mailbox at most once per attempt, and mailboxes already listed in
// its delivered_to are skipped, so a retry after a partial failure does not duplicate copies.
// A job marked `recovered` (its message was reloaded after a restart) first looks for a file
// named after its queue id in each target Maildir (maildir.hpp): a kill -9 between the rename
// into new/ and the queue's record of the delivery leaves exactly that, and the copy counts as
// delivered instead of being written twice.
// A recovered job's queue file is checked against its checksum first; one that does not match is
// reported corrupt and nothing is written. (Messages accepted by this process are not re-hashed:
// their checksum was computed from the very bytes written and fsync'd.)
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "directory/directory.hpp"
#include "spool/queue_file.hpp"
#include "util/sync_pool.hpp"

namespace mailroom::delivery {

enum class Outcome { Delivered, Deferred, Failed };

struct RecipientAttempt {
  std::size_t index = 0;                  // into envelope.recipients
  std::vector<std::string> delivered_to;  // mailboxes that already have their copy
};

struct DeliveryJob {
  std::string message_path;
  spool::QueueFileInfo info;
  std::vector<RecipientAttempt> recipients;
  bool recovered = false;  // reloaded at start: a crash may have left copies already delivered
};

struct RecipientResult {
  std::size_t index = 0;
  Outcome outcome = Outcome::Deferred;
  std::string reason;
  std::vector<std::string> delivered_to;  // including those delivered in earlier attempts
};

struct JobResult {
  bool corrupt = false;  // the queue file failed its checksum: never deliver it
  std::vector<RecipientResult> recipients;
};

class LocalDelivery {
 public:
  LocalDelivery(std::string mailbox_root, std::string hostname,
                std::shared_ptr<directory::Directory> directory, util::SyncPool& sync_pool);

  // Delivers a batch: all Maildir files of all jobs are synced together. One result per job.
  std::vector<JobResult> deliver(const std::vector<DeliveryJob>& jobs);

 private:
  std::string mailbox_root_;
  std::string hostname_;
  std::shared_ptr<directory::Directory> directory_;
  util::SyncPool& sync_pool_;
};

// Header-section helpers (CRLF text, no final empty line), exposed for tests.
// Removes every Return-Path field (with its continuation lines).
std::string without_return_path(std::string_view headers);
// True when a Delivered-To field equals `address` (case-insensitive).
bool has_delivered_to(std::string_view headers, std::string_view address);

}  // namespace mailroom::delivery
