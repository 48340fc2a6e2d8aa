#include "queue/admin_client.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "queue/admin.hpp"
#include "spool/message_id.hpp"
#include "util/ascii.hpp"
#include "util/posix_file.hpp"
#include "util/rfc5322_date.hpp"

namespace mailroom::queue {
namespace {

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::unique_ptr<StateDb> open_existing_db(const spool::QueuePaths& paths) {
  if (!file_exists(paths.state_db())) return nullptr;
  return StateDb::open(paths.state_db(), false);
}

std::string display_sender(const std::string& s) { return s.empty() ? "MAILER-DAEMON" : s; }

std::string describe_state(const RecipientState& s, std::int64_t now) {
  switch (s.status) {
    case RecipientStatus::Pending:
      return "pending";
    case RecipientStatus::Deferred:
      // attempts: the scheduled ones the backoff counts; a retry forced by `queue flush` shows
      // only in the time of the last try (admin.hpp).
      return fmt::format("deferred ({} attempt{}, last {} ago, next {}): {}", s.attempts,
                         s.attempts == 1 ? "" : "s", format_age(now - s.last_attempt_unix),
                         s.next_attempt_unix <= now ? std::string("now")
                                                    : "in " + format_age(s.next_attempt_unix - now),
                         s.reason);
    case RecipientStatus::Delivered:
      return "delivered: " + s.reason;
    case RecipientStatus::Failed:
      return std::string(s.notified ? "failed" : "failed, DSN pending") + ": " + s.reason;
  }
  return "pending";
}

// Holds queue_dir/lock while no server runs; empty when a server holds it.
class OfflineLock {
 public:
  explicit OfflineLock(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd_ < 0) return;  // no lock file: no server ever ran here
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) {
      held_ = true;
    } else {
      server_running_ = true;
    }
  }
  ~OfflineLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool server_running() const { return server_running_; }

 private:
  int fd_ = -1;
  bool held_ = false;
  bool server_running_ = false;
};

AdminResult parse_result(const std::string& line) {
  if (line.size() >= 2 && line[1] == ' ' && line[0] >= '0' && line[0] <= '9')
    return {line[0] - '0', line.substr(2)};
  return {1, line};
}

AdminResult offline(const spool::QueuePaths& paths, const std::string& verb,
                    const std::string& id) {
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  if (verb == "flush") {
    if (!id.empty() && !file_exists(paths.message_file(id))) return {1, id + ": not in the queue"};
    auto db = open_existing_db(paths);
    std::size_t deferred = 0;
    if (db) {
      for (const auto& [mid, states] : db->load_all()) {
        if (!id.empty() && mid != id) continue;
        for (const auto& [index, s] : states) deferred += s.status == RecipientStatus::Deferred;
      }
      // Left for the server to carry out at start (admin.hpp), with the online rules: clearing
      // the retry times here would make that first attempt count and lengthen the backoff.
      if (deferred > 0) db->post_command("flush", id);
    }
    return {0, fmt::format("{} deferred recipient(s) will be retried as soon as the server starts",
                           deferred)};
  }
  spool::QueueFileInfo info;
  if (spool::read_queue_file_info(paths.message_file(id), info))
    return {1, id + ": not in the queue"};
  if (verb == "delete") {
    if (::unlink(paths.message_file(id).c_str()) != 0) return {1, id + ": not in the queue"};
    // Durable before the rows go: a file back after a power cut without its rows would be
    // delivered to every recipient again.
    if (auto ec = util::fsync_directory(paths.messages_dir()))
      return {1, id + ": deleted, but not durably: " + ec.message()};
    if (auto db = open_existing_db(paths)) db->apply({}, {id});
    return {0, id + ": deleted"};
  }
  // bounce
  auto db = StateDb::open(paths.state_db(), true);
  MessageRecord record;
  record.envelope = info.envelope;
  record.states.resize(info.envelope.recipients.size());
  for (auto& [index, s] : db->load(id))
    if (index < record.states.size()) record.states[index] = s;
  auto changed = fail_by_administrator(record, now);
  std::vector<StateUpdate> updates;
  for (auto i : changed) updates.push_back({id, i, record.states[i]});
  db->apply(updates);
  return {0, fmt::format("{}: returned to sender ({} recipient(s)); the DSN is sent when the "
                         "server starts",
                         id, changed.size())};
}

}  // namespace

std::string format_age(std::int64_t s) {
  if (s < 0) s = 0;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{}h", s / 86400, (s % 86400) / 3600);
}

std::optional<QueuedMessageView> read_queued_message(const spool::QueuePaths& paths,
                                                     const std::string& id) {
  if (!spool::is_valid_message_id(id)) return std::nullopt;
  spool::QueueFileInfo info;
  if (spool::read_queue_file_info(paths.message_file(id), info)) return std::nullopt;
  QueuedMessageView v;
  v.states.resize(info.envelope.recipients.size());
  if (auto db = open_existing_db(paths))
    for (auto& [index, s] : db->load(id))
      if (index < v.states.size()) v.states[index] = s;
  v.envelope = std::move(info.envelope);
  v.size = info.body_bytes;
  return v;
}

std::vector<QueuedMessageView> read_queue(const spool::QueuePaths& paths) {
  std::vector<QueuedMessageView> out;
  auto db = open_existing_db(paths);
  StateDb::AllStates rows;
  if (db) rows = db->load_all();
  for (const auto& id : spool::list_committed_ids(paths)) {
    spool::QueueFileInfo info;
    if (spool::read_queue_file_info(paths.message_file(id), info)) continue;  // removed meanwhile
    QueuedMessageView v;
    v.states.resize(info.envelope.recipients.size());
    if (auto it = rows.find(id); it != rows.end())
      for (auto& [index, s] : it->second)
        if (index < v.states.size()) v.states[index] = s;
    v.envelope = std::move(info.envelope);
    v.size = info.body_bytes;
    out.push_back(std::move(v));
  }
  return out;
}

std::string format_listing(const std::vector<QueuedMessageView>& messages, std::int64_t now,
                           const NextHop& next_hop) {
  if (messages.empty()) return "Mail queue is empty\n";
  std::string out = fmt::format("{:<22} {:>9} {:>7}  {}\n", "-Queue ID-", "--Size--", "--Age--",
                                "-Sender/Recipient-------");
  std::uint64_t total = 0;
  for (const auto& m : messages) {
    total += m.size;
    out +=
        fmt::format("{:<22} {:>9} {:>7}  {}\n", m.envelope.id, m.size,
                    format_age(now - m.envelope.arrival_unix), display_sender(m.envelope.sender));
    for (std::size_t i = 0; i < m.envelope.recipients.size(); ++i) {
      const auto& address = m.envelope.recipients[i].address;
      std::string hop = next_hop && !m.states[i].is_final() ? next_hop(address) : "";
      out += fmt::format("{:42}{}{}\n{:46}{}\n", "", address, hop.empty() ? "" : " via " + hop, "",
                         describe_state(m.states[i], now));
    }
    out += "\n";
  }
  out += fmt::format("-- {} Kbytes in {} Request{}.\n", (total + 1023) / 1024, messages.size(),
                     messages.size() == 1 ? "" : "s");
  return out;
}

QueueShape queue_shape(const std::vector<QueuedMessageView>& messages, std::int64_t now) {
  static constexpr std::array<std::int64_t, QueueShape::kBuckets - 1> kLimitsMin = {
      5, 10, 20, 40, 80, 160, 320, 640, 1280};
  QueueShape shape;
  std::map<std::string, QueueShape::Row> rows;
  for (const auto& m : messages) {
    ++shape.messages;
    const auto age_min = std::max<std::int64_t>(0, now - m.envelope.arrival_unix) / 60;
    std::size_t bucket = 0;
    while (bucket < kLimitsMin.size() && age_min > kLimitsMin[bucket]) ++bucket;
    std::set<std::string> domains;
    for (std::size_t i = 0; i < m.envelope.recipients.size(); ++i) {
      const auto& s = m.states.at(i);
      ++shape.recipients_by_state[to_string(s.status)];
      if (s.is_final()) continue;
      const auto& a = m.envelope.recipients[i].address;
      auto at = a.rfind('@');
      domains.insert(util::to_ascii_lower(at == std::string::npos ? a : a.substr(at + 1)));
    }
    for (const auto& d : domains) {
      auto& row = rows[d];
      row.domain = d;
      ++row.total;
      ++row.by_age[bucket];
    }
  }
  for (auto& [d, row] : rows) shape.rows.push_back(std::move(row));
  std::stable_sort(shape.rows.begin(), shape.rows.end(),
                   [](const auto& a, const auto& b) { return a.total > b.total; });
  return shape;
}

std::string format_shape(const QueueShape& s) {
  static constexpr std::array<const char*, QueueShape::kBuckets> kHeads = {
      "5", "10", "20", "40", "80", "160", "320", "640", "1280", "1280+"};
  std::size_t width = 6;
  for (const auto& r : s.rows) width = std::max(width, r.domain.size());
  std::string out = fmt::format("{:>{}} {:>6}", "", width, "T");
  for (auto h : kHeads) out += fmt::format(" {:>6}", h);
  out += "\n";
  QueueShape::Row total;
  total.domain = "TOTAL";
  for (const auto& r : s.rows) {
    total.total += r.total;
    for (std::size_t i = 0; i < QueueShape::kBuckets; ++i) total.by_age[i] += r.by_age[i];
  }
  auto line = [&](const QueueShape::Row& r) {
    out += fmt::format("{:>{}} {:>6}", r.domain, width, r.total);
    for (auto n : r.by_age) out += fmt::format(" {:>6}", n);
    out += "\n";
  };
  line(total);
  for (const auto& r : s.rows) line(r);
  out += fmt::format("{} message{}; recipients:", s.messages, s.messages == 1 ? "" : "s");
  for (const auto& [state, n] : s.recipients_by_state) out += fmt::format(" {} {}", n, state);
  if (s.recipients_by_state.empty()) out += " none";
  out += "\n";
  return out;
}

std::string format_shape_json(const QueueShape& s) {
  nlohmann::json j;
  j["messages"] = s.messages;
  j["recipients_by_state"] = s.recipients_by_state;
  j["age_buckets_minutes"] = {5, 10, 20, 40, 80, 160, 320, 640, 1280, nullptr};
  j["domains"] = nlohmann::json::array();
  for (const auto& r : s.rows)
    j["domains"].push_back({{"domain", r.domain}, {"total", r.total}, {"by_age", r.by_age}});
  return j.dump(2) + "\n";
}

std::string format_details(const QueuedMessageView& m, const std::string& headers, std::int64_t now,
                           const NextHop& next_hop) {
  const auto& e = m.envelope;
  std::string out;
  out += fmt::format("Queue-ID: {}\n", e.id);
  out += fmt::format("Arrival: {} ({} ago)\n",
                     util::rfc5322_date(static_cast<std::time_t>(e.arrival_unix)),
                     format_age(now - e.arrival_unix));
  out += fmt::format("Size: {} bytes\n", m.size);
  out += fmt::format("Sender: <{}>\n", e.sender);
  out += fmt::format("Client: {} [{}] listener={}{}\n", e.client_helo, e.client_ip, e.listener,
                     e.auth_user.empty() ? "" : " auth=" + e.auth_user);
  out += fmt::format("Body: {}{}{}{}\n", e.body_type.empty() ? "7BIT" : e.body_type,
                     e.smtputf8 ? " SMTPUTF8" : "", e.ret.empty() ? "" : " RET=" + e.ret,
                     e.envid.empty() ? "" : " ENVID=" + e.envid);
  out += "Recipients:\n";
  for (std::size_t i = 0; i < e.recipients.size(); ++i) {
    const auto& r = e.recipients[i];
    std::string notify;
    if (r.notify == smtp::kNotifyDefault) notify = "default";
    if (r.notify & smtp::kNotifyNever) notify = "NEVER";
    for (auto [flag, name] : {std::pair{smtp::kNotifySuccess, "SUCCESS"},
                              {smtp::kNotifyFailure, "FAILURE"},
                              {smtp::kNotifyDelay, "DELAY"}})
      if (r.notify & flag) notify += (notify.empty() ? "" : ",") + std::string(name);
    out +=
        fmt::format("  {} (NOTIFY={}{}): {}\n", r.address, notify,
                    r.orcpt.empty() ? "" : " ORCPT=" + r.orcpt, describe_state(m.states[i], now));
    const auto& s = m.states[i];
    if (next_hop && !s.is_final())
      if (auto hop = next_hop(r.address); !hop.empty())
        out += fmt::format("    next hop: {}\n", hop);
    if (!s.remote_mta.empty())
      out += fmt::format("    last reply from {}: {}\n", s.remote_mta, s.diagnostic);
  }
  out += "Headers:\n";
  out += headers;
  return out;
}

AdminResult run_admin_command(const spool::QueuePaths& paths, const std::string& verb,
                              const std::string& id, std::chrono::milliseconds timeout) {
  if (verb != "flush" && verb != "delete" && verb != "bounce") return {2, "unknown command"};
  if (!id.empty() && !spool::is_valid_message_id(id)) return {2, id + ": not a queue id"};
  if ((verb == "delete" || verb == "bounce") && id.empty()) return {2, "a queue id is required"};
  if (!file_exists(paths.root))
    return {1, id.empty() ? "the queue is empty" : id + ": not in the queue"};
  OfflineLock lock(paths.lock_file());
  if (!lock.server_running()) return offline(paths, verb, id);
  auto db = StateDb::open(paths.state_db(), false);
  auto seq = db->post_command(verb, id);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto c = db->command(seq); c && c->done) return parse_result(c->result);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return {1, "the server did not carry out the command in time; it stays queued and runs later"};
}

}  // namespace mailroom::queue
