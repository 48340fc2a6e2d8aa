// journal/tracking_event: the message tracking log, one JSON object per line (JSON Lines), in
// the spirit of Exchange's message tracking log. Every message leaves one event per stage:
//
//   RECEIVE  accepted (the 250): client, listener, auth_user, size, message_id (the Message-ID
//            header), sender, recipients
//   DELIVER  a recipient stored locally (Maildir or LMTP): recipient, next_hop, reply
//   SEND     a recipient handed to another server: recipient, next_hop, reply (theirs)
//   DEFER    a recipient not delivered this time, retried later: recipient, next_hop, reply,
//            retry_at
//   FAIL     a recipient failed for good: recipient, next_hop, reply
//   EXPIRE   a recipient failed because the message outlived queue.max_lifetime_s
//   DSN      a delivery status notification was queued: dsn_id (its queue id), kind
//            (failed, delivered, delayed), sender (who gets it)
//   DELETE   removed by an administrator (`mailroom queue delete`)
//
// Every line has "time" (UTC ISO 8601, ms), "event" and "id" (the queue id); fields that do
// not apply are left out. The writer indexes lines by queue id (and a DSN line by its dsn_id
// too), see journal/rotating_file. A line that does not parse as such an object is "damaged":
// readers skip and count it (journal/track_reader).
// Never: message content, AUTH secrets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "journal/rotating_file.hpp"

namespace mailroom::journal {

struct TrackingEvent {
  std::int64_t unix_ms = 0;  // 0: now, when recorded
  std::string event;
  std::string id;
  std::string client;
  std::string listener;
  std::string auth_user;
  std::uint64_t size = 0;
  std::string message_id;
  std::string sender;
  std::vector<std::string> recipients;
  std::string recipient;
  std::string next_hop;
  std::string reply;
  std::int64_t retry_at_unix = 0;
  std::string dsn_id;
  std::string kind;
  std::string time_text;      // as read back (parse_tracking_line)
  std::string retry_at_text;  // as read back
};

LogSpec tracking_log_spec();
std::string tracking_loss_note(std::uint64_t lost, std::int64_t now_unix);

std::string format_tracking_line(const TrackingEvent& e);  // with "\n"
// nullopt: damaged (not JSON, not an object, no event or id of the right type).
std::optional<TrackingEvent> parse_tracking_line(std::string_view line);
// Loss notes and other lines without an id parse as events with an empty id.

// Writes `e` to the installed writer's tracking log (no-op when none is installed).
void record(TrackingEvent e);

}  // namespace mailroom::journal
