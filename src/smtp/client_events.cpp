// Names and local replies of the client engine's vocabulary (smtp/client_events.hpp).
#include "smtp/client_events.hpp"

#include <fmt/format.h>

namespace mailroom::smtp {

namespace {

constexpr std::array<std::string_view, kClientStateCount> kStateNames = {
    "connecting",  "banner", "ehlo", "helo", "starttls", "tls-handshake", "tls-ehlo",
    "auth",        "ready",  "rset", "mail", "rcpt",     "data",          "data-body",
    "end-of-data", "bdat",   "quit", "done", "failed"};

}  // namespace

std::string_view state_name(ClientState state) {
  return kStateNames[static_cast<std::size_t>(state)];
}

std::string_view failure_cause_name(FailureCause cause) {
  switch (cause) {
    case FailureCause::ServerReply:
      return "server-reply";
    case FailureCause::ConnectionLost:
      return "connection-lost";
    case FailureCause::Timeout:
      return "timeout";
    case FailureCause::LocalAbort:
      return "local-abort";
    case FailureCause::TlsNotOffered:
      return "tls-not-offered";
    case FailureCause::TlsFailed:
      return "tls-failed";
    case FailureCause::StartTlsInjection:
      return "starttls-injection";
    case FailureCause::AuthUnavailable:
      return "auth-unavailable";
    case FailureCause::AuthNeedsTls:
      return "auth-needs-tls";
    case FailureCause::MalformedReply:
      return "malformed-reply";
    case FailureCause::UnexpectedReply:
      return "unexpected-reply";
    case FailureCause::InvalidOptions:
      return "invalid-options";
  }
  return "unknown";
}

Reply local_failure_reply(FailureCause cause, ClientState stage, std::string_view detail) {
  std::string where(state_name(stage));
  std::string suffix = detail.empty() ? "" : fmt::format(": {}", detail);
  switch (cause) {
    case FailureCause::ConnectionLost:
      return make_reply(421, "4.4.2", "lost connection with server in state " + where);
    case FailureCause::Timeout:
      return make_reply(421, "4.4.2", "timeout waiting for server in state " + where);
    case FailureCause::LocalAbort:
      return make_reply(451, "4.3.0", "delivery aborted in state " + where);
    case FailureCause::TlsNotOffered:
      return make_reply(451, "4.7.4", "TLS is required, but was not offered by the server");
    case FailureCause::TlsFailed:
      return make_reply(451, "4.7.5", "cannot start TLS" + suffix);
    case FailureCause::StartTlsInjection:
      return make_reply(451, "4.7.5", "data after the STARTTLS reply, before TLS started");
    case FailureCause::AuthUnavailable:
      return make_reply(451, "4.7.0",
                        "authentication required, but the server offers no usable mechanism");
    case FailureCause::AuthNeedsTls:
      return make_reply(451, "4.7.0", "authentication requires TLS, which is not active");
    case FailureCause::MalformedReply:
      return make_reply(451, "4.5.0", sanitize_text("malformed reply in state " + where + suffix));
    case FailureCause::UnexpectedReply:
      return make_reply(451, "4.5.0", sanitize_text("unexpected reply in state " + where + suffix));
    case FailureCause::InvalidOptions:
      return make_reply(451, "4.3.5", "invalid client settings" + suffix);
    case FailureCause::ServerReply:
      break;
  }
  return make_reply(451, "4.5.0", sanitize_text("session failed in state " + where + suffix));
}

}  // namespace mailroom::smtp
