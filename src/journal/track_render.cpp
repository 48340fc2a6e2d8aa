#include "journal/track_render.hpp"

#include <fmt/format.h>

#include <charconv>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "journal/protocol_log.hpp"

namespace mailroom::journal {

namespace {

struct Message {
  std::string id;
  std::vector<const TrackingEvent*> events;
  std::map<std::string, std::string> final;  // recipient -> state
};

std::vector<Message> by_message(const TrackResult& r) {
  std::vector<Message> out;
  std::map<std::string, std::size_t> index;
  for (const auto& e : r.events) {
    auto [it, fresh] = index.try_emplace(e.id, out.size());
    if (fresh) out.push_back(Message{e.id, {}, {}});
    auto& m = out[it->second];
    m.events.push_back(&e);
    if (e.event == "RECEIVE") {
      for (auto& rc : e.recipients) m.final.try_emplace(rc, "pending");
    } else if (e.event == "DELETE") {
      for (auto& rc : e.recipients) m.final[rc] = "DELETE";
    } else if (!e.recipient.empty() && e.event != "DSN") {
      m.final[e.recipient] = e.event;
    }
  }
  return out;
}

std::string detail(const TrackingEvent& e) {
  std::string d;
  auto add = [&d](std::string_view label, const std::string& v) {
    if (v.empty()) return;
    if (!d.empty()) d += ' ';
    d += label;
    d += v;
  };
  if (e.event == "RECEIVE") {
    d = fmt::format("from <{}>", e.sender);
    for (auto& r : e.recipients) d += fmt::format(" to <{}>", r);
    d += fmt::format(" size={}", e.size);
    add("client=", e.client);
    add("listener=", e.listener);
    add("user=", e.auth_user);
    add("message-id=", e.message_id);
  } else if (e.event == "DSN") {
    add("kind=", e.kind);
    add("dsn=", e.dsn_id);
    d += fmt::format(" to <{}>", e.sender);
  } else {
    if (!e.recipient.empty()) d = "<" + e.recipient + ">";
    for (auto& r : e.recipients) add("", "<" + r + ">");
    add("via ", e.next_hop);
    add("retry=", e.retry_at_text);
    add("reply=", e.reply);
  }
  return escape_bytes(d);
}

nlohmann::json event_json(const TrackingEvent& e) {
  auto line = format_tracking_line(e);
  return nlohmann::json::parse(line, nullptr, false);
}

}  // namespace

std::string render_track_table(const TrackResult& result) {
  std::string out;
  if (result.events.empty()) return out;
  out += fmt::format("{:<24}  {:<7}  {:<21}  {}\n", "TIME", "EVENT", "QUEUE ID", "DETAIL");
  for (const auto& e : result.events)
    out += fmt::format("{:<24}  {:<7}  {:<21}  {}\n", escape_bytes(e.time_text),
                       escape_bytes(e.event), escape_bytes(e.id), detail(e));
  for (const auto& m : by_message(result)) {
    if (m.final.empty()) continue;
    out += fmt::format("\n{}:", escape_bytes(m.id));
    for (const auto& [rcpt, state] : m.final)
      out += fmt::format(" <{}> {};", escape_bytes(rcpt), state);
    out.back() = '\n';
  }
  return out;
}

std::string render_track_json(const TrackResult& result) {
  nlohmann::json doc;
  doc["messages"] = nlohmann::json::array();
  for (const auto& m : by_message(result)) {
    nlohmann::json jm;
    jm["id"] = m.id;
    jm["final"] = nlohmann::json::object();
    for (const auto& [rcpt, state] : m.final) jm["final"][rcpt] = state;
    jm["events"] = nlohmann::json::array();
    for (const auto* e : m.events) jm["events"].push_back(event_json(*e));
    doc["messages"].push_back(std::move(jm));
  }
  doc["damaged_lines"] = result.damaged_lines;
  doc["files_read"] = result.files_read;
  doc["files_skipped"] = result.files_skipped;
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::optional<std::int64_t> parse_since(std::string_view text, std::int64_t now_unix) {
  if (text.empty()) return std::nullopt;
  const char unit = text.back();
  if (unit == 's' || unit == 'm' || unit == 'h' || unit == 'd') {
    std::int64_t n = 0;
    auto digits = text.substr(0, text.size() - 1);
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec == std::errc() && p == digits.data() + digits.size() && !digits.empty() && n >= 0 &&
        n < 100000000) {
      const std::int64_t mult = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 86400;
      return now_unix - n * mult;
    }
  }
  std::string t(text);
  if (!t.empty() && t.back() == 'Z') t.pop_back();
  for (auto& c : t)
    if (c == ' ') c = 'T';
  std::tm tm{};
  const char* rest = nullptr;
  for (const char* fmt_ : {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"}) {
    tm = std::tm{};
    rest = strptime(t.c_str(), fmt_, &tm);
    if (rest && *rest == '\0') return static_cast<std::int64_t>(timegm(&tm));
  }
  return std::nullopt;
}

}  // namespace mailroom::journal
