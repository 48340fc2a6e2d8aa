// `mailroom track`: follows messages through the tracking log (journal/track_reader), as
// Exchange's Get-MessageTrackingLog does: by queue id, Message-ID, sender, recipient, start time.
// Exit 0 when events were found, 1 when none, 2 on bad usage. Damaged log lines are skipped and
// counted ("N damaged lines skipped" on stderr; "damaged_lines" with --json).
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.hpp"
#include "cli/config_lookup.hpp"
#include "journal/protocol_log.hpp"
#include "journal/track_reader.hpp"
#include "journal/track_render.hpp"
#include "spool/message_id.hpp"

namespace mailroom::cli {

namespace {
struct TrackOptions {
  std::optional<std::string> config_path;
  std::string log_dir;
  std::string id;
  std::string message_id;
  std::string from;
  std::string to;
  std::string since;
  bool json = false;
};

int run_track(const TrackOptions& o) {
  journal::TrackQuery q;
  if (!o.id.empty()) {
    q.id = spool::normalize_message_id(o.id);
    if (!spool::is_valid_message_id(q.id)) {
      std::cerr << "mailroom: " << journal::escape_bytes(o.id) << ": not a queue id\n";
      return 2;
    }
    q.id_time_unix = static_cast<std::int64_t>(spool::message_id_time_us(q.id) / 1000000);
  }
  q.message_id = o.message_id;
  q.from = o.from;
  q.to = o.to;
  if (!o.since.empty()) {
    auto since = journal::parse_since(o.since, std::time(nullptr));
    if (!since) {
      std::cerr << "mailroom: --since " << journal::escape_bytes(o.since)
                << ": expected a UTC time (2026-11-30T12:00:00) or an age (30m, 2h, 7d)\n";
      return 2;
    }
    q.since_unix = *since;
    q.since = journal::iso_time_ms(*since * 1000);
  }
  if (q.id.empty() && q.message_id.empty() && q.from.empty() && q.to.empty() && q.since.empty()) {
    std::cerr
        << "mailroom: track needs at least one of --id, --message-id, --from, --to, --since\n";
    return 2;
  }
  std::string dir = o.log_dir;
  if (dir.empty()) dir = load_command_config(o.config_path).config.log_dir();
  auto result = journal::track(dir, q);
  if (o.json) {
    std::cout << journal::render_track_json(result);
  } else {
    std::cout << journal::render_track_table(result);
    if (result.events.empty()) std::cerr << "mailroom: no matching messages in " << dir << "\n";
  }
  if (result.damaged_lines > 0)
    std::cerr << "mailroom: " << result.damaged_lines << " damaged lines skipped\n";
  return result.events.empty() ? 1 : 0;
}
}  // namespace

void add_track_command(CLI::App& app) {
  auto opts = std::make_shared<TrackOptions>();
  auto* cmd = app.add_subcommand("track", "Follow messages through the message tracking log");
  cmd->add_option("-c,--config", opts->config_path, "configuration file");
  cmd->add_option("--log-dir", opts->log_dir, "tracking log directory (default: [log] directory)");
  cmd->add_option("--id", opts->id, "queue id, as in the 250 reply");
  cmd->add_option("--message-id", opts->message_id, "Message-ID header field");
  cmd->add_option("--from", opts->from, "envelope sender");
  cmd->add_option("--to", opts->to, "a recipient");
  cmd->add_option("--since", opts->since, "UTC time (2026-11-30T12:00:00) or age (30m, 2h, 7d)");
  cmd->add_flag("--json", opts->json, "one JSON document");
  cmd->callback([opts] {
    int rc = 1;
    try {
      rc = run_track(*opts);
    } catch (const CLI::RuntimeError&) {
      throw;
    } catch (const std::exception& e) {
      std::cerr << "mailroom: " << e.what() << "\n";
    }
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace mailroom::cli
