#include "journal/tracking_event.hpp"

#include <nlohmann/json.hpp>

#include "journal/json_line.hpp"
#include "journal/log_writer.hpp"
#include "journal/protocol_log.hpp"

namespace mailroom::journal {

using nlohmann::json;

LogSpec tracking_log_spec() { return LogSpec{"tracking", "jsonl", "", true}; }

std::string tracking_loss_note(std::uint64_t lost, std::int64_t now_unix) {
  return JsonLine()
      .add("event", "LOST")
      .add("lost", lost)
      .add("time", iso_time_ms(now_unix * 1000))
      .finish();
}

std::string format_tracking_line(const TrackingEvent& e) {
  // Keys in ascending order (json_line.hpp); empty fields that do not apply are left out.
  JsonLine j;
  auto put = [&j](std::string_view key, const std::string& v) {
    if (!v.empty()) j.add(key, v);
  };
  put("auth_user", e.auth_user);
  put("client", e.client);
  put("dsn_id", e.dsn_id);
  j.add("event", e.event);
  j.add("id", e.id);
  put("kind", e.kind);
  put("listener", e.listener);
  put("message_id", e.message_id);
  put("next_hop", e.next_hop);
  put("recipient", e.recipient);
  if (!e.recipients.empty()) j.add("recipients", e.recipients);
  put("reply", e.reply);
  if (e.retry_at_unix) {
    j.add("retry_at", iso_time_ms(e.retry_at_unix * 1000));
  } else {
    put("retry_at", e.retry_at_text);
  }
  if (e.event == "RECEIVE" || !e.sender.empty()) j.add("sender", e.sender);
  if (e.event == "RECEIVE") j.add("size", e.size);
  j.add("time", e.time_text.empty() ? iso_time_ms(e.unix_ms) : e.time_text);
  return j.finish();
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
