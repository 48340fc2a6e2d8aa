#include "journal/tracking_event.hpp"

#include <nlohmann/json.hpp>

#include "journal/log_writer.hpp"
#include "journal/protocol_log.hpp"

namespace mailroom::journal {

using nlohmann::json;

LogSpec tracking_log_spec() { return LogSpec{"tracking", "jsonl", "", true}; }

std::string tracking_loss_note(std::uint64_t lost, std::int64_t now_unix) {
  json j;
  j["time"] = iso_time_ms(now_unix * 1000);
  j["event"] = "LOST";
  j["lost"] = lost;
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string format_tracking_line(const TrackingEvent& e) {
  json j;
  j["time"] = e.time_text.empty() ? iso_time_ms(e.unix_ms) : e.time_text;
  j["event"] = e.event;
  j["id"] = e.id;
  auto put = [&j](const char* key, const std::string& v) {
    if (!v.empty()) j[key] = v;
  };
  put("client", e.client);
  put("listener", e.listener);
  put("auth_user", e.auth_user);
  if (e.event == "RECEIVE") j["size"] = e.size;
  put("message_id", e.message_id);
  if (e.event == "RECEIVE" || !e.sender.empty()) j["sender"] = e.sender;
  if (!e.recipients.empty()) j["recipients"] = e.recipients;
  put("recipient", e.recipient);
  put("next_hop", e.next_hop);
  put("reply", e.reply);
  if (e.retry_at_unix) {
    j["retry_at"] = iso_time_ms(e.retry_at_unix * 1000);
  } else if (!e.retry_at_text.empty()) {
    j["retry_at"] = e.retry_at_text;
  }
  put("dsn_id", e.dsn_id);
  put("kind", e.kind);
  // Addresses and replies come from clients and peers: invalid UTF-8 is replaced, not thrown on.
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::optional<TrackingEvent> parse_tracking_line(std::string_view line) {
  auto j = json::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  TrackingEvent e;
  auto str = [&j](const char* key, std::string& out) {
    auto it = j.find(key);
    if (it == j.end()) return true;
    if (!it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  auto ev = j.find("event");
  if (ev == j.end() || !ev->is_string()) return std::nullopt;
  e.event = ev->get<std::string>();
  if (!str("time", e.time_text) || !str("id", e.id) || !str("client", e.client) ||
      !str("listener", e.listener) || !str("auth_user", e.auth_user) ||
      !str("message_id", e.message_id) || !str("sender", e.sender) ||
      !str("recipient", e.recipient) || !str("next_hop", e.next_hop) || !str("reply", e.reply) ||
      !str("dsn_id", e.dsn_id) || !str("kind", e.kind))
    return std::nullopt;
  if (auto it = j.find("size"); it != j.end()) {
    if (!it->is_number_unsigned()) return std::nullopt;
    e.size = it->get<std::uint64_t>();
  }
  if (auto it = j.find("recipients"); it != j.end()) {
    if (!it->is_array()) return std::nullopt;
    for (auto& r : *it) {
      if (!r.is_string()) return std::nullopt;
      e.recipients.push_back(r.get<std::string>());
    }
  }
  if (!str("retry_at", e.retry_at_text)) return std::nullopt;
  return e;
}

void record(TrackingEvent e) {
  auto* w = installed_writer();
  if (!w || !w->options().tracking) return;
  if (e.unix_ms == 0) e.unix_ms = unix_ms_now();
  std::string keys = e.id;
  if (!e.dsn_id.empty()) keys += " " + e.dsn_id;
  w->submit(Stream::Tracking, format_tracking_line(e), std::move(keys));
}

}  // namespace mailroom::journal
