// `mailroom queue list|show|flush|delete|bounce`: postqueue/postsuper for mailroom. Works
// whether or not a server runs on the same data dir (queue/admin_client.hpp explains how).
#include <unistd.h>

#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.hpp"
#include "cli/config_lookup.hpp"
#include "config/config.hpp"
#include "delivery/router.hpp"
#include "directory/directory.hpp"
#include "queue/admin_client.hpp"
#include "spool/message_id.hpp"
#include "spool/queue_file.hpp"

namespace mailroom::cli {
namespace {

struct QueueOptions {
  std::optional<std::string> config_path;
  std::string id;
  std::string flush_id;
  int timeout_s = 30;
};

spool::QueuePaths load_paths(const QueueOptions& o) {
  return spool::QueuePaths(load_command_config(o.config_path).config.queue_dir());
}

// Where each recipient would go now, by the same router the server uses. Without a readable
// directory (a fresh data dir) the column is left out rather than guessed.
queue::NextHop next_hop_for(const QueueOptions& o) {
  const auto cfg = load_command_config(o.config_path).config;
  // Listing must not create a directory database as a side effect.
  if (cfg.directory.backend == "sqlite" && ::access(cfg.directory_db_path().c_str(), R_OK) != 0)
    return {};
  std::shared_ptr<delivery::Router> router;
  try {
    router = std::make_shared<delivery::Router>(delivery::router_options(cfg.delivery),
                                                directory::open_directory(cfg));
  } catch (const std::exception&) {
    return {};
  }
  return [router](const std::string& recipient) {
    auto route = router->route(recipient);
    if (!route.failure.empty()) return std::string("none (") + route.failure + ")";
    std::string out;
    for (const auto& d : route.destinations) {
      if (!out.empty()) out += ", ";
      out += d.transport == delivery::Transport::Maildir
                 ? std::string("maildir")
                 : std::string(delivery::to_string(d.transport)) + " " + d.nexthop;
    }
    return out;
  };
}

void finish(const queue::AdminResult& r) {
  (r.exit_code == 0 ? std::cout : std::cerr)
      << (r.exit_code == 0 ? "" : "mailroom: ") << r.text << "\n";
  if (r.exit_code != 0) throw CLI::RuntimeError(r.exit_code);
}

void run_guarded(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const CLI::RuntimeError&) {
    throw;
  } catch (const std::exception& e) {
    std::cerr << "mailroom: " << e.what() << "\n";
    throw CLI::RuntimeError(1);
  }
}

}  // namespace

void add_queue_commands(CLI::App& app) {
  auto opts = std::make_shared<QueueOptions>();
  auto* q = app.add_subcommand("queue", "Inspect and manage the mail queue");
  q->require_subcommand(1);
  q->add_option("-c,--config", opts->config_path,
                "TOML config file (default: $MAILROOM_CONFIG, else /etc/mailroom/mailroom.toml, "
                "else the embedded defaults)");

  auto* list = q->add_subcommand("list", "List queued messages with recipient states");
  list->fallthrough();
  list->callback([opts] {
    run_guarded([&] {
      auto paths = load_paths(*opts);
      std::cout << queue::format_listing(queue::read_queue(paths), std::time(nullptr),
                                         next_hop_for(*opts));
    });
  });

  auto* summary = q->add_subcommand(
      "summary", "Messages by destination domain and age (qshape), recipients by state");
  summary->fallthrough();
  static bool summary_json = false;
  summary->add_flag("--json", summary_json, "one JSON document");
  summary->callback([opts] {
    run_guarded([&] {
      auto shape = queue::queue_shape(queue::read_queue(load_paths(*opts)), std::time(nullptr));
      std::cout << (summary_json ? queue::format_shape_json(shape) : queue::format_shape(shape));
    });
  });

  auto* show = q->add_subcommand("show", "Show a message's envelope, states and headers");
  show->fallthrough();
  show->add_option("id", opts->id, "queue id, as in the 250 reply (with or without <>, @host)")
      ->required();
  show->callback([opts] {
    run_guarded([&] {
      auto paths = load_paths(*opts);
      opts->id = spool::normalize_message_id(opts->id);
      if (!spool::is_valid_message_id(opts->id)) {
        std::cerr << "mailroom: " << opts->id << ": not a queue id\n";
        throw CLI::RuntimeError(2);
      }
      auto m = queue::read_queued_message(paths, opts->id);
      std::string headers;
      if (!m || spool::read_headers(paths.message_file(opts->id), m->size, headers)) {
        std::cerr << "mailroom: " << opts->id << ": not in the queue\n";
        throw CLI::RuntimeError(1);
      }
      std::cout << queue::format_details(*m, headers, std::time(nullptr), next_hop_for(*opts));
    });
  });

  auto* flush = q->add_subcommand("flush", "Retry deferred recipients now (all, or one message)");
  flush->fallthrough();
  flush->add_option("id", opts->flush_id, "queue id (default: every message)");
  flush->callback([opts] {
    run_guarded([&] {
      opts->flush_id = spool::normalize_message_id(opts->flush_id);
      finish(queue::run_admin_command(load_paths(*opts), "flush", opts->flush_id,
                                      std::chrono::seconds(opts->timeout_s)));
    });
  });

  for (const char* verb : {"delete", "bounce"}) {
    auto* cmd = q->add_subcommand(verb, std::string(verb) == "delete"
                                            ? "Remove a message without notifying anyone"
                                            : "Fail a message's pending recipients and return "
                                              "it to the sender");
    cmd->fallthrough();
    cmd->add_option("id", opts->id, "queue id")->required();
    std::string v = verb;
    cmd->callback([opts, v] {
      run_guarded([&] {
        opts->id = spool::normalize_message_id(opts->id);
        finish(queue::run_admin_command(load_paths(*opts), v, opts->id,
                                        std::chrono::seconds(opts->timeout_s)));
      });
    });
  }
}

}  // namespace mailroom::cli
