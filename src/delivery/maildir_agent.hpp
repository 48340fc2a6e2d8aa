// delivery/maildir_agent: final delivery into local Maildirs (maildir.hpp), the first agent.
//
// Each item names a local mailbox (the router expanded aliases, catch-alls and plus addresses).
// Each copy starts with the headers RFC 5321 4.4 asks of final delivery: `Return-Path:
// <reverse-path>` (`<>` for the null sender; any Return-Path already in the message is dropped)
// and `Delivered-To: <mailbox>`; a message that already carries our Delivered-To for that
// mailbox is a forwarding loop and fails with 5.4.6, as in Postfix's local(8).
//
// Dispositions per item (reason always starts with the RFC 3463 status):
//   delivered  "2.0.0 delivered to maildir": the copy is fsync'd in new/ (maildir.hpp)
//   failed     5.4.6 forwarding loop, 5.1.3 unusable mailbox name
//   deferred   4.2.2 quota, 4.3.1 disk full, 4.3.0 other write or read errors
// A BODY=BINARYMIME message is written byte for byte as received, CRLF and all (maildir.hpp);
// every other message gets the Maildir's LF line ends.
// A mailbox gets at most one copy of a message per batch, however many recipients lead to it.
// A job marked `recovered` (reloaded after a restart) first looks for a file named after its
// queue id in each target Maildir: a kill -9 between the rename into new/ and the queue's record
// of the delivery leaves exactly that, and the copy counts as delivered instead of being written
// twice. (The queue verifies a recovered file's checksum before any agent sees it.)
#pragma once

#include <string>
#include <vector>

#include "delivery/agent.hpp"
#include "util/sync_pool.hpp"

namespace mailroom::delivery {

class MaildirAgent final : public DeliveryAgent {
 public:
  MaildirAgent(std::string mailbox_root, std::string hostname, util::SyncPool& sync_pool);

  // All Maildir files of all jobs are synced together.
  std::vector<AgentJobResult> deliver(const std::vector<AgentJob>& jobs) override;

 private:
  std::string mailbox_root_;
  std::string hostname_;
  util::SyncPool& sync_pool_;
};

}  // namespace mailroom::delivery
