#include "client/diagnosis.hpp"

namespace mailroom::client {
namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

std::string_view step_name(Step step) {
  switch (step) {
    case Step::Dns:
      return "DNS";
    case Step::Connect:
      return "connect";
    case Step::Banner:
      return "banner";
    case Step::Ehlo:
      return "EHLO";
    case Step::Helo:
      return "HELO";
    case Step::StartTls:
      return "STARTTLS";
    case Step::Certificate:
      return "certificate";
    case Step::Auth:
      return "AUTH";
    case Step::Mail:
      return "MAIL FROM";
    case Step::Rcpt:
      return "RCPT TO";
    case Step::Data:
      return "DATA";
    case Step::RelayTest:
      return "relay test";
    case Step::Rset:
      return "RSET";
    case Step::Quit:
      return "QUIT";
    case Step::Security:
      return "security";
  }
  return "step";
}

std::vector<std::string> causes_for_network(Step step, NetworkFailure failure) {
  switch (failure) {
    case NetworkFailure::Refused:
      return {"The destination SMTP service is unavailable: nothing listens on this port",
              "An incorrect port number was specified",
              "Restrictions on the destination firewall (it rejects the connection)",
              "An incorrect FQDN or IP address for the destination SMTP server"};
    case NetworkFailure::TimedOut:
      if (step == Step::Connect)
        return {"Restrictions on the destination firewall (packets are dropped)",
                "Restrictions on the source firewall",
                "Your ISP or network blocks outbound port 25 (common on residential and cloud "
                "connections)",
                "An incorrect FQDN or IP address for the destination SMTP server",
                "The destination SMTP service is down or overloaded"};
      return {"The server applies strict timeouts or is overloaded (it stopped answering at " +
                  std::string(step_name(step)) + ")",
              "A filtering device (firewall, IPS, SMTP proxy) holds or drops the traffic",
              "The server delays on purpose (tarpitting after errors, or greylisting)"};
    case NetworkFailure::Unreachable:
      return {"No route to the destination (network down, wrong address)",
              "Restrictions on the source firewall"};
    case NetworkFailure::Reset:
    case NetworkFailure::ClosedMidReply:
      return {"A filtering device (firewall, IPS, SMTP proxy) cut the connection",
              "The server dropped the session (policy, overload, or a crash)",
              "The server refused this client at connect time without a reply"};
    case NetworkFailure::Malformed:
      return {"The peer is not an SMTP server, or speaks TLS on connect (try --tls-on-connect)",
              "A filtering device rewrites the dialogue"};
    case NetworkFailure::HostNotFound:
      return {"An incorrect FQDN for the destination SMTP server",
              "The domain has no MX and no address record, or DNS fails (try `mailroom mx`)"};
  }
  return {};
}

std::vector<std::string> causes_for_reply(Step step, const smtp::Reply& r) {
  if (r.positive() && r.code != 334) return {};
  const std::string& e = r.enhanced;
  if (r.code == 421) {
    if (e == "4.7.0")
      return {
          "Too many errors on this connection: the server closed it (earlier commands were "
          "refused, or too many failed AUTH attempts)",
          "The client address is rate-limited or temporarily blocked"};
    return {"The server is shutting down or overloaded", "Too many connections from this client",
            "A policy closed the session (timeouts, rate limits)"};
  }
  switch (step) {
    case Step::Banner:
      if (r.code == 554 || r.code == 550 || r.code == 521)
        return {"This client's address is not permitted (connector remote ranges, blocklist)",
                "The host does not accept mail at all (RFC 7504 521)"};
      return {"The server refuses sessions for now (overload, maintenance)"};
    case Step::Ehlo:
    case Step::Helo:
      if (r.code == 501)
        return {
            "There are invalid characters in the domain name given with EHLO/HELO "
            "(--ehlo NAME)",
            "Connection restrictions on the destination SMTP server"};
      if (r.code == 500 || r.code == 502)
        return {"The server does not support ESMTP (HELO is tried instead)",
                "An SMTP-inspecting firewall allows only RFC 821 commands"};
      return {"Connection restrictions on the destination SMTP server"};
    case Step::StartTls:
      return {"TLS is not available on the server for now (certificate or key problem)",
              "A firewall strips or blocks STARTTLS"};
    case Step::Auth:
      if (r.code == 535)
        return {"The user name or password is wrong",
                "The account is locked or not allowed "
                "to send"};
      if (r.code == 538 || (r.code == 530 && e == "5.7.0"))
        return {"Authentication is only offered inside TLS: use STARTTLS (--tls) first"};
      if (r.code == 504) return {"The server does not offer this AUTH mechanism"};
      if (r.code == 503) return {"AUTH was given at the wrong moment, or is not enabled here"};
      return {"The server refused authentication"};
    case Step::Mail:
      if (r.code == 530)
        return {
            "The destination server does not accept anonymous message submissions: "
            "authenticate (--user/--password) or use a connector that allows anonymous mail"};
      if (r.code == 550 && starts_with(e, "5.1."))
        return {"There is a syntax error in the sender's e-mail address",
                "The sender's domain is refused (does not exist or is blocked)"};
      if (r.code == 552) return {"The declared message size exceeds the server's limit"};
      if (r.code == 553) return {"The sender address is not allowed for this login"};
      if (r.code == 503) return {"Commands out of order: EHLO/HELO first, one MAIL at a time"};
      return {"The server refuses mail from this sender"};
    case Step::Rcpt:
    case Step::RelayTest:
      if (r.code == 550 && e == "5.7.1")
        return {
            "Relay is not permitted for this client: the server is not the destination for "
            "this domain and does not relay for you (authenticate, or send to the domain's "
            "own MX)"};
      if (starts_with(e, "5.1.1") || (r.code == 550 && e.empty()))
        return {"The specified recipient does not exist"};
      if (r.code == 452 || r.code == 451)
        return {"Too many recipients, or the server is short of resources: try again later"};
      if (r.code == 450) return {"The mailbox is busy or greylisting is in effect: retry later"};
      if (r.code == 553 || r.code == 501) return {"The recipient address is malformed"};
      if (r.code == 530) return {"The server wants authentication before recipients"};
      return {"The server refuses this recipient"};
    case Step::Data:
      if (r.code == 552) return {"The message is larger than the server accepts"};
      if (r.code == 554 || r.code == 550)
        return {"The content was refused (spam or virus filter, policy)",
                "No valid recipients remained"};
      if (r.code == 451 || r.code == 452) return {"A temporary server problem (disk, queue)"};
      return {"The server refused the message"};
    default:
      break;
  }
  return {"The server refused the command"};
}

std::optional<std::string> smtp_inspection_signs(const std::vector<std::string>& banner,
                                                 const std::vector<std::string>& ehlo_reply,
                                                 int ehlo_code) {
  std::vector<std::string> signs;
  for (const auto& line : banner) {
    std::size_t stars = 0, run = 0, longest = 0;
    for (char c : line) {
      if (c == '*') {
        ++stars;
        longest = std::max(longest, ++run);
      } else {
        run = 0;
      }
    }
    if (longest >= 4 || (line.size() > 4 && stars * 2 >= line.size() - 4)) {
      signs.push_back("the greeting is masked with asterisks (\"" + line + "\")");
      break;
    }
  }
  for (const auto& line : ehlo_reply) {
    auto text = line.size() > 4 ? line.substr(4) : std::string();
    if (text.size() >= 4 && text.find_first_not_of('X') >= 4) {
      signs.push_back("EHLO keywords are replaced by X (\"" + line + "\")");
      break;
    }
  }
  if (ehlo_code == 500 && !signs.empty())
    signs.push_back("EHLO is refused with 500 while the greeting is masked");
  if (signs.empty()) return std::nullopt;
  std::string out =
      "An SMTP-inspecting firewall (Cisco PIX \"fixup smtp\" / ASA \"inspect esmtp\") seems to "
      "sit between you and the server: ";
  for (std::size_t i = 0; i < signs.size(); ++i) out += (i ? "; " : "") + signs[i];
  out +=
      ". It hides the server's real greeting and extensions (STARTTLS, AUTH); check or "
      "disable the inspection before blaming the server";
  return out;
}

}  // namespace mailroom::client
