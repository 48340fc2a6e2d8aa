// The probe's report as text (one line per step) and as JSON (docs/json/probe.schema.json).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "client/probe.hpp"
#include "client/reply_meaning.hpp"
#include "client/report_json.hpp"

namespace mailroom::client {

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Ok:
      return "OK";
    case Verdict::Warn:
      return "WARN";
    case Verdict::Fail:
      return "FAIL";
    case Verdict::Skipped:
      return "SKIP";
  }
  return "?";
}

int exit_code_for(Step step) {
  switch (step) {
    case Step::Dns:
      return 3;
    case Step::Connect:
      return 4;
    case Step::Banner:
      return 5;
    case Step::Ehlo:
    case Step::Helo:
      return 6;
    case Step::StartTls:
    case Step::Certificate:
      return 7;
    case Step::Auth:
      return 8;
    case Step::Mail:
      return 9;
    case Step::Rcpt:
      return 10;
    case Step::Data:
      return 11;
    case Step::RelayTest:
      return 12;
    case Step::Security:
      return 13;
    case Step::Rset:
    case Step::Quit:
      return 14;
  }
  return 1;
}

std::string exit_code_table() {
  return "Exit status: 0 every step passed; 2 bad arguments; 3 DNS; 4 connect; 5 banner; "
         "6 EHLO/HELO; 7 STARTTLS/TLS; 8 AUTH; 9 MAIL FROM; 10 RCPT TO; 11 DATA; 12 open relay; "
         "13 security check; 14 RSET/QUIT.";
}

std::string render_step(const ProbeStep& s) {
  std::string out = fmt::format("  {:<5} {:<12} {}", verdict_name(s.verdict), step_name(s.step),
                                printable(s.summary));
  if (s.ms) out += fmt::format("  ({:.1f} ms)", *s.ms);
  out += "\n";
  if (s.verdict == Verdict::Fail || s.verdict == Verdict::Warn) {
    if (!s.meaning.empty()) out += fmt::format("        meaning: {}\n", s.meaning);
    if (!s.causes.empty()) {
      out += s.verdict == Verdict::Fail ? "        possible reasons for failure:\n"
                                        : "        why it matters:\n";
      for (const auto& c : s.causes) out += fmt::format("          - {}\n", c);
    }
  }
  return out;
}

nlohmann::json step_json(const ProbeStep& s) {
  // Replies may hold any octet; JSON strings must be UTF-8 (nlohmann throws otherwise).
  std::vector<std::string> reply;
  for (const auto& line : s.reply) reply.push_back(printable(line));
  nlohmann::json j{{"step", std::string(step_name(s.step))},
                   {"verdict", std::string(verdict_name(s.verdict))},
                   {"summary", printable(s.summary)},
                   {"reply", reply},
                   {"causes", s.causes}};
  j["ms"] = s.ms ? nlohmann::json(*s.ms) : nlohmann::json(nullptr);
  j["meaning"] = s.meaning;
  return j;
}

nlohmann::json tls_json(const std::optional<net::TlsPeerReport>& tls) {
  if (!tls) return nullptr;
  return {{"protocol", tls->protocol},        {"cipher", tls->cipher},
          {"subject", tls->subject},          {"issuer", tls->issuer},
          {"dns_names", tls->dns_names},      {"not_before", tls->not_before},
          {"not_after", tls->not_after},      {"expired", tls->expired},
          {"trusted", tls->trusted()},        {"verify_error", tls->verify_error},
          {"chain_length", tls->chain_length}};
}

nlohmann::json host_json(const HostProbe& h) {
  nlohmann::json host{{"host", h.host}, {"address", h.address}, {"port", h.port}};
  host["failed_at"] =
      h.failed_at ? nlohmann::json(std::string(step_name(*h.failed_at))) : nlohmann::json(nullptr);
  host["steps"] = nlohmann::json::array();
  for (const auto& s : h.steps) host["steps"].push_back(step_json(s));
  host["tls"] = tls_json(h.tls);
  return host;
}

std::string certificate_line(const net::TlsPeerReport& tls) {
  return fmt::format(
      "certificate: subject {}; issuer {}; valid {} to {}{}; names {}; {}", tls.subject, tls.issuer,
      tls.not_before, tls.not_after, tls.expired ? " (EXPIRED)" : "",
      fmt::join(tls.dns_names, ", "),
      tls.trusted() ? "chain and name verified" : "not verified: " + tls.verify_error);
}

std::string render_text(const ProbeReport& r) {
  std::string out = fmt::format("mailroom probe {}\n", r.target);
  for (const auto& s : r.dns) out += render_step(s);
  for (const auto& h : r.hosts) {
    out += fmt::format("{}[{}]:{}\n", h.host, h.address.empty() ? "-" : h.address, h.port);
    for (const auto& s : h.steps) out += render_step(s);
    if (h.tls) out += "        " + certificate_line(*h.tls) + "\n";
  }
  if (r.exit_code == 0) {
    out += "result: every step passed\n";
  } else {
    out += fmt::format("result: FAILED (exit {})\n", r.exit_code);
  }
  return out;
}

std::string render_json(const ProbeReport& r) {
  nlohmann::json j;
  j["target"] = r.target;
  j["exit_code"] = r.exit_code;
  j["dns"] = nlohmann::json::array();
  for (const auto& s : r.dns) j["dns"].push_back(step_json(s));
  j["hosts"] = nlohmann::json::array();
  for (const auto& h : r.hosts) j["hosts"].push_back(host_json(h));
  return j.dump(2) + "\n";
}

}  // namespace mailroom::client
