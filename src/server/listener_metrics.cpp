#include "server/listener_metrics.hpp"

namespace mailroom::server {
namespace {

util::Registry& r() { return util::metrics(); }

}  // namespace

ListenerMetrics::ListenerMetrics(const std::string& listener)
    : sessions_open(r().gauge("mailroom_sessions_open", "SMTP sessions open now", {"listener"})
                        .with({listener})),
      sessions_total(r().counter("mailroom_sessions_total", "SMTP sessions accepted", {"listener"})
                         .with({listener})),
      messages_accepted(r().counter("mailroom_messages_accepted_total",
                                    "Messages answered 250 (queued)", {"listener"})
                            .with({listener})),
      message_bytes(
          r().counter("mailroom_message_bytes_total", "Octets of messages queued", {"listener"})
              .with({listener})),
      commit_seconds(r().histogram("mailroom_commit_seconds",
                                   "End of data to the 250 reply (durable queue commit)",
                                   util::latency_buckets(), {"listener"})
                         .with({listener})),
      tls_ok(r().counter("mailroom_tls_handshakes_total", "TLS handshakes by side and result",
                         {"listener", "result"})
                 .with({listener, "ok"})),
      tls_failed(r().counter("mailroom_tls_handshakes_total", "TLS handshakes by side and result",
                             {"listener", "result"})
                     .with({listener, "failed"})),
      listener_(listener) {
  auto& commands = r().counter("mailroom_smtp_commands_total", "SMTP commands received by verb",
                               {"listener", "verb"});
  for (std::size_t v = 0; v < commands_.size(); ++v)
    commands_[v] =
        &commands.with({listener, std::string(smtp::verb_name(static_cast<smtp::Verb>(v)))});
  auto& replies = r().counter("mailroom_smtp_replies_total", "SMTP replies sent by code class",
                              {"listener", "class"});
  for (std::size_t c = 2; c < replies_.size(); ++c)
    replies_[c] = &replies.with({listener, std::to_string(c) + "xx"});
}

void ListenerMetrics::rejected(const std::string& reason) {
  r().counter("mailroom_messages_rejected_total", "Messages and recipients refused, by reason",
              {"listener", "reason"})
      .with({listener_, reason})
      .inc();
}

}  // namespace mailroom::server
