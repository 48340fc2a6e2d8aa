// server/listener_metrics: what the sessions of one receive connector count (util/metrics.hpp),
// looked up once per listener so a session's updates are single atomic adds.
#pragma once

#include <array>
#include <string>

#include "smtp/command.hpp"
#include "util/metrics.hpp"

namespace mailroom::server {

struct ListenerMetrics {
  explicit ListenerMetrics(const std::string& listener);

  util::Gauge& sessions_open;
  util::Counter& sessions_total;
  util::Counter& messages_accepted;
  util::Counter& message_bytes;
  util::Histogram& commit_seconds;  // end of data to "250 Queued": the fsync the client waits for
  util::Counter& tls_ok;
  util::Counter& tls_failed;

  void command(smtp::Verb verb) { commands_[static_cast<std::size_t>(verb)]->inc(); }
  void reply(int code) {
    if (code >= 200 && code < 600) replies_[static_cast<std::size_t>(code / 100)]->inc();
  }
  // "bare_newline", "too_big", "line_too_long", "storage", "recipient" (per refused RCPT)...
  void rejected(const std::string& reason);

 private:
  std::string listener_;
  std::array<util::Counter*, 15> commands_{};
  std::array<util::Counter*, 6> replies_{};
};

}  // namespace mailroom::server
