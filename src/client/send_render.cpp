// `mailroom send` output: the closing verdict of one message, the load summary, and both as JSON
// (docs/json/send.schema.json, docs/json/send-load.schema.json).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "client/reply_meaning.hpp"
#include "client/report_json.hpp"
#include "client/send.hpp"

namespace mailroom::client {
namespace {

std::string failure_text(const ProbeStep& s) {
  std::string out = fmt::format("FAIL {}: {}\n", step_name(s.step), printable(s.summary));
  if (!s.meaning.empty()) out += fmt::format("        meaning: {}\n", s.meaning);
  if (!s.causes.empty()) {
    out += "        possible reasons for failure:\n";
    for (const auto& c : s.causes) out += fmt::format("          - {}\n", c);
  }
  return out;
}

std::string where(const HostProbe& h) {
  if (h.address.empty()) return h.host;
  if (h.host == h.address) return fmt::format("[{}]:{}", h.address, h.port);
  return fmt::format("{}[{}]:{}", h.host, h.address, h.port);
}

std::string last_reply(const HostProbe& h) {
  for (auto it = h.steps.rbegin(); it != h.steps.rend(); ++it)
    if (it->step == Step::Data && !it->reply.empty()) return it->reply.back();
  return "";
}

}  // namespace

std::string render_send_end(const SendReport& r, bool show_time) {
  std::string out;
  if (show_time && !r.hosts.empty()) {
    out += "** timing:\n";
    for (const auto& s : r.hosts.back().steps) {
      if (!s.ms) continue;
      out += fmt::format("**   {:<12} {:>9.1f} ms  {}\n", step_name(s.step), *s.ms,
                         printable(s.summary));
    }
  }
  const bool several = r.recipients.size() > 1;
  for (const auto& rcpt : r.recipients) {
    if (!rcpt.result || (!several && rcpt.result->reply.code / 100 == 2)) continue;
    out +=
        fmt::format("** recipient {}: {}\n", rcpt.address, printable(rcpt.result->reply.summary()));
  }
  if (r.failure) {
    out += failure_text(*r.failure);
    out +=
        fmt::format("** result: FAILED at {} (exit {})\n", step_name(r.failure->step), r.exit_code);
    return out;
  }
  if (r.exit_code != 0) {
    out += fmt::format("** result: FAILED: no host could be reached (exit {})\n", r.exit_code);
    return out;
  }
  if (r.accepted && !r.hosts.empty()) {
    out += fmt::format("** result: OK: accepted by {}: {}\n", where(r.hosts.back()),
                       printable(last_reply(r.hosts.back())));
  } else if (!r.hosts.empty()) {
    out += fmt::format("** result: OK: every step passed; stopped as --quit-after asked ({})\n",
                       where(r.hosts.back()));
  }
  return out;
}

std::string render_send_json(const SendReport& r) {
  nlohmann::json j;
  j["exit_code"] = r.exit_code;
  j["accepted"] = r.accepted;
  j["failed_at"] =
      r.failure ? nlohmann::json(std::string(step_name(r.failure->step))) : nlohmann::json(nullptr);
  j["failure"] = r.failure ? step_json(*r.failure) : nlohmann::json(nullptr);
  j["dns"] = nlohmann::json::array();
  for (const auto& s : r.dns) j["dns"].push_back(step_json(s));
  j["attempts"] = nlohmann::json::array();
  for (const auto& h : r.hosts) j["attempts"].push_back(host_json(h));
  j["recipients"] = nlohmann::json::array();
  for (const auto& rcpt : r.recipients) {
    nlohmann::json one{{"address", rcpt.address}};
    if (rcpt.result) {
      one["code"] = rcpt.result->reply.code;
      one["enhanced"] = rcpt.result->reply.enhanced;
      one["reply"] = printable(rcpt.result->reply.summary());
      one["from_server"] = rcpt.result->from_server;
    } else {
      one["code"] = nullptr;
      one["enhanced"] = "";
      one["reply"] = "";
      one["from_server"] = false;
    }
    j["recipients"].push_back(std::move(one));
  }
  j["transcript"] = r.transcript;
  return j.dump(2) + "\n";
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  if (rank == 0) rank = 1;
  return values[std::min(rank, values.size()) - 1];
}

std::string render_load_text(const LoadReport& r) {
  std::string out =
      fmt::format("summary: {} messages in {:.2f} s over {} connection{} opened\n", r.messages,
                  r.elapsed_s, r.connections, r.connections == 1 ? "" : "s");
  out += fmt::format("  accepted {}, failed {}\n", r.accepted, r.failed);
  const double rate = r.elapsed_s > 0 ? static_cast<double>(r.accepted) / r.elapsed_s : 0;
  out += fmt::format("  rate {:.1f} messages/s accepted\n", rate);
  if (!r.latencies_ms.empty()) {
    out += fmt::format("  latency p50 {:.1f} ms, p90 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms\n",
                       percentile(r.latencies_ms, 50), percentile(r.latencies_ms, 90),
                       percentile(r.latencies_ms, 99), percentile(r.latencies_ms, 100));
  }
  out += "  replies:\n";
  for (const auto& [reply, n] : r.replies) out += fmt::format("    {:>7}  {}\n", n, reply);
  if (r.first_failure) out += failure_text(*r.first_failure);
  out += r.exit_code == 0 ? std::string("result: OK\n")
                          : fmt::format("result: FAILED (exit {})\n", r.exit_code);
  return out;
}

std::string render_load_json(const LoadReport& r) {
  nlohmann::json j;
  j["messages"] = r.messages;
  j["accepted"] = r.accepted;
  j["failed"] = r.failed;
  j["connections"] = r.connections;
  j["elapsed_s"] = r.elapsed_s;
  j["messages_per_s"] = r.elapsed_s > 0 ? static_cast<double>(r.accepted) / r.elapsed_s : 0.0;
  j["latency_ms"] = {{"p50", percentile(r.latencies_ms, 50)},
                     {"p90", percentile(r.latencies_ms, 90)},
                     {"p99", percentile(r.latencies_ms, 99)},
                     {"max", percentile(r.latencies_ms, 100)}};
  j["replies"] = r.replies;
  j["first_failure"] = r.first_failure ? step_json(*r.first_failure) : nlohmann::json(nullptr);
  j["exit_code"] = r.exit_code;
  return j.dump(2) + "\n";
}

}  // namespace mailroom::client
