#include "delivery/outbound_policy.hpp"

#include <fmt/format.h>

#include <charconv>

#include "smtp/address.hpp"
#include "util/ascii.hpp"

namespace mailroom::delivery {

std::optional<Nexthop> parse_nexthop(std::string_view text, std::uint16_t default_port) {
  Nexthop n;
  n.port = default_port;
  std::string_view host = text;
  std::string_view port;
  bool has_port = false;
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    port = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!port.empty() && port.front() != ':') return std::nullopt;
    has_port = !port.empty();
    if (has_port) port.remove_prefix(1);
    if (util::istarts_with(host, "IPv6:")) host.remove_prefix(5);
    n.mx_lookup = false;
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
    has_port = true;
  }
  if (host.empty() || (has_port && port.empty())) return std::nullopt;
  if (has_port) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535)
      return std::nullopt;
    n.port = static_cast<std::uint16_t>(value);
  }
  std::error_code ec;
  auto address = asio::ip::make_address(std::string(host), ec);
  if (!ec) {
    n.literal = address;
    n.mx_lookup = false;
    n.host = address.to_string();
  } else {
    if (!smtp::is_valid_domain(host, false)) return std::nullopt;
    n.host = smtp::normalize_domain(host);
  }
  return n;
}

config::OutboundTls tls_level_for(const config::DeliveryConfig& cfg, std::string_view domain) {
  const std::string d = smtp::normalize_domain(domain);
  std::size_t best = 0;
  auto level = cfg.tls;
  for (const auto& [pattern, value] : cfg.tls_policy) {
    if (pattern == d) return value;
    if (pattern.front() == '.' && d.size() > pattern.size() && d.ends_with(pattern) &&
        pattern.size() > best) {
      best = pattern.size();
      level = value;
    }
  }
  return level;
}

std::string enhanced_status_of(const smtp::Reply& reply) {
  const char cls = static_cast<char>('0' + reply.code / 100);
  if (reply.enhanced.size() >= 5 && reply.enhanced[0] == cls && reply.enhanced[1] == '.')
    return reply.enhanced;
  return fmt::format("{}.0.0", cls == '2' || cls == '4' || cls == '5' ? cls : '4');
}

std::string_view command_name(smtp::ClientState stage) {
  using smtp::ClientState;
  switch (stage) {
    case ClientState::Connecting:
      return "connect";
    case ClientState::Banner:
      return "initial protocol greeting";
    case ClientState::Ehlo:
    case ClientState::TlsEhlo:
      return "EHLO";
    case ClientState::Helo:
      return "HELO";
    case ClientState::StartTls:
    case ClientState::TlsHandshake:
      return "STARTTLS";
    case ClientState::Auth:
      return "AUTH";
    case ClientState::Rset:
      return "RSET";
    case ClientState::Mail:
      return "MAIL FROM";
    case ClientState::Rcpt:
      return "RCPT TO";
    case ClientState::Data:
      return "DATA";
    case ClientState::DataBody:
    case ClientState::EndOfData:
      return "end of DATA";
    case ClientState::Bdat:
      return "BDAT";
    case ClientState::Quit:
      return "QUIT";
    case ClientState::Ready:
    case ClientState::Done:
    case ClientState::Failed:
      break;
  }
  return "SMTP";
}

namespace {

Disposition disposition_of(int code) {
  if (code >= 200 && code < 300) return Disposition::Delivered;
  if (code >= 500) return Disposition::Failed;
  return Disposition::Deferred;
}

std::string reply_text(const smtp::Reply& reply) {
  std::string text = reply.summary();
  for (std::size_t i = 1; i < reply.lines.size(); ++i) text += " " + reply.lines[i];
  return smtp::sanitize_text(text, 512);
}

}  // namespace

ItemResult result_from_reply(const smtp::RecipientResult& r, std::string_view where) {
  ItemResult out;
  out.disposition = disposition_of(r.reply.code);
  const auto status = enhanced_status_of(r.reply);
  if (r.from_server) {
    out.reason = fmt::format("{} host {} said: {} (in reply to {} command)", status, where,
                             reply_text(r.reply), command_name(r.stage));
    out.remote_mta = std::string(where);
    out.diagnostic = reply_text(r.reply);
  } else {
    // Made up here (SIZE too big for the server, lost connection...): no remote reply to quote.
    std::string text = r.reply.lines.empty() ? "" : r.reply.lines.front();
    out.reason = fmt::format("{} {} ({})", status, smtp::sanitize_text(text, 512), where);
  }
  out.relayed = out.disposition == Disposition::Delivered && r.relayed_without_dsn;
  out.dsn_passed_on = out.disposition == Disposition::Delivered && r.dsn_passed_on;
  return out;
}

bool stale_connection_failure(const smtp::SessionFailed& failure) {
  using smtp::ClientState;
  using smtp::FailureCause;
  if (failure.stage != ClientState::Rset && failure.stage != ClientState::Mail) return false;
  return failure.cause == FailureCause::ConnectionLost ||
         (failure.cause == FailureCause::ServerReply && failure.reply.code == 421);
}

ItemResult result_from_session(const smtp::SessionFailed& failure, std::string_view where) {
  ItemResult out;
  out.disposition = disposition_of(failure.reply.code);
  if (out.disposition == Disposition::Delivered) out.disposition = Disposition::Deferred;
  auto status = enhanced_status_of(failure.reply);
  if (failure.from_server && failure.stage == smtp::ClientState::Banner &&
      out.disposition == Disposition::Failed) {
    // A host that will not talk to us (554 greeting: a blocklist, an overload) says nothing about
    // the recipients: the message waits for that host or another, as Postfix's
    // smtp_skip_5xx_greeting (on by default) does.
    out.disposition = Disposition::Deferred;
    status[0] = '4';
    out.reason = fmt::format("{} host {} refused to talk to me: {}", status, where,
                             reply_text(failure.reply));
    out.remote_mta = std::string(where);
    out.diagnostic = reply_text(failure.reply);
    return out;
  }
  if (failure.from_server && failure.stage == smtp::ClientState::Auth &&
      out.disposition == Disposition::Failed) {
    // Credentials the relay refuses are our configuration's fault, not the recipients': the mail
    // waits until an administrator fixes them (Postfix's smtp_sasl_auth_soft_bounce, on by
    // default).
    out.disposition = Disposition::Deferred;
    status[0] = '4';
    out.reason = fmt::format("{} SASL authentication failed; host {} said: {}", status, where,
                             reply_text(failure.reply));
    out.remote_mta = std::string(where);
    out.diagnostic = reply_text(failure.reply);
    return out;
  }
  if (failure.from_server) {
    out.reason = fmt::format("{} host {} said: {} (in reply to {} command)", status, where,
                             reply_text(failure.reply), command_name(failure.stage));
    out.remote_mta = std::string(where);
    out.diagnostic = reply_text(failure.reply);
  } else {
    std::string text = failure.reply.lines.empty() ? "" : failure.reply.lines.front();
    out.reason = fmt::format("{} {}", status, smtp::sanitize_text(text, 512));
    if (text.find(std::string(where)) == std::string::npos)
      out.reason += fmt::format(" ({})", where);
  }
  return out;
}

}  // namespace mailroom::delivery
