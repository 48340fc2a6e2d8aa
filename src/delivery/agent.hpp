// delivery/agent: the one interface every transport implements, and what passes through it.
//
// The queue hands a batch of due recipients to the Dispatcher (dispatcher.hpp), which asks the
// Router (router.hpp) where each recipient's copies go and gives each agent the part of the
// batch that is its own: Maildir today; LMTP and SMTP (MX or relayhost) register the same way.
// An agent answers every item it was given with a Disposition and a reason that starts with the
// RFC 3463 status ("2.0.0 ...", "4.4.1 ...", "5.1.1 ..."), quoting the remote reply and host
// where there is one. Agents know nothing of retries, lifetimes or DSNs: the queue decides those
// from the dispositions.
//
// Never: report Delivered for an item whose copy is not durable at the destination (fsync'd in
// a Maildir, or acknowledged with 2xx after end-of-data by the next hop), or drop an item without
// a result.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/route.hpp"
#include "spool/queue_file.hpp"

namespace mailroom::delivery {

enum class Disposition { Delivered, Deferred, Failed };
const char* to_string(Disposition);

// One copy to deliver: recipient `recipient` (index into the envelope) to `destination`.
struct AgentItem {
  std::size_t recipient = 0;
  Destination destination;
};

// One message and the copies of it that one agent is to deliver.
struct AgentJob {
  std::string message_path;  // the committed queue file
  spool::QueueFileInfo info;
  bool recovered = false;  // reloaded at start: a crash may have left copies already delivered
  std::string headers;     // the message's header section (CRLF, no final empty line)
  std::vector<AgentItem> items;
};

struct ItemResult {
  Disposition disposition = Disposition::Deferred;
  std::string reason;      // RFC 3463 status first
  std::string remote_mta;  // the server whose reply decided it ("mx.example.org[192.0.2.1]:25")
  std::string diagnostic;  // that reply, for the DSN's Diagnostic-Code: smtp; (RFC 3464 2.3.6)
  // Delivered to a next hop without DSN support: the sender who asked for NOTIFY=SUCCESS gets a
  // "relayed" notice instead of "delivered" (RFC 3461 6.2.2).
  bool relayed = false;
  // Delivered to a next hop with DSN support: NOTIFY went along and the success notice is that
  // hop's to send (RFC 3461 5.2.2); none from us.
  bool dsn_passed_on = false;
};

inline ItemResult item_result(Disposition d, std::string reason) {
  ItemResult r;
  r.disposition = d;
  r.reason = std::move(reason);
  return r;
}

struct AgentJobResult {
  std::vector<ItemResult> items;  // one per AgentJob::items, in order
};

class DeliveryAgent {
 public:
  virtual ~DeliveryAgent() = default;
  // Delivers a batch; blocks until every item of every job has its result. Called from the
  // queue's delivery threads, possibly from several at once: implementations are thread-safe.
  virtual std::vector<AgentJobResult> deliver(const std::vector<AgentJob>& jobs) = 0;
};

}  // namespace mailroom::delivery
