// delivery/dispatcher: one delivery attempt for a batch of queued messages, across transports.
//
// For each recipient due for an attempt, the Router names its destinations; those already in the
// recipient's `delivered_to` (an earlier attempt's copies) are skipped, so a retry after a partial
// failure duplicates nothing. Each agent gets the items of its transport for the whole batch at
// once (Maildir syncs a batch together). A transport without an agent defers its items with
// "4.4.0 <transport> delivery not available".
//
// Before anything else, the message's header section is read once (agents get it in AgentJob)
// and its Received: fields counted: more than max_hops fails every recipient 5.4.6, a mail loop
// (RFC 5321 6.3, Postfix's hopcount_limit). A queue file that cannot be read defers them all.
//
// A recipient's disposition is merged from its copies: Deferred if any copy was deferred (the
// others are kept in delivered_to), else Failed if any failed (or the route itself failed), else
// Delivered. The reason is that of the copy that decided it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "delivery/agent.hpp"
#include "delivery/router.hpp"

namespace mailroom::delivery {

struct RecipientAttempt {
  std::size_t index = 0;                  // into envelope.recipients
  std::vector<std::string> delivered_to;  // destinations that already have their copy
};

struct DeliveryJob {
  std::string message_path;
  spool::QueueFileInfo info;
  std::vector<RecipientAttempt> recipients;
  bool recovered = false;  // reloaded at start: a crash may have left copies already delivered
};

struct RecipientResult {
  std::size_t index = 0;
  Disposition disposition = Disposition::Deferred;
  std::string reason;
  std::string remote_mta;  // of the copy that decided it (agent.hpp)
  std::string diagnostic;
  // The transport of the copy that decided it ("maildir", "lmtp", "smtp"; "" when no copy was
  // tried now): the tracking log tells a local DELIVER from a SEND by it.
  std::string transport;
  bool relayed = false;        // some copy went to a next hop without DSN
  bool dsn_passed_on = false;  // every copy delivered went to a next hop that reports success
  std::vector<std::string> delivered_to;  // including those delivered in earlier attempts
};

struct JobResult {
  std::vector<RecipientResult> recipients;  // one per DeliveryJob::recipients, in order
};

struct DispatcherOptions {
  std::uint32_t max_hops = 50;
};

class Dispatcher {
 public:
  using Agents = std::map<Transport, DeliveryAgent*>;
  Dispatcher(const Router& router, Agents agents, DispatcherOptions options = {});

  // One result per job.
  std::vector<JobResult> deliver(const std::vector<DeliveryJob>& jobs);

 private:
  const Router& router_;
  Agents agents_;
  DispatcherOptions options_;
};

}  // namespace mailroom::delivery
