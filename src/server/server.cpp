#include "server/server.hpp"

#include <grp.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "directory/directory.hpp"
#include "journal/log_writer.hpp"
#include "net/tls_context.hpp"
#include "queue/runtime.hpp"
#include "server/control_files.hpp"
#include "server/listener_set.hpp"
#include "server/metrics_endpoint.hpp"
#include "server/reload.hpp"
#include "server/service_notify.hpp"
#include "server/shutdown.hpp"
#include "util/metrics.hpp"

namespace mailroom::server {
namespace {

// The queue and mailboxes hold other people's mail: not world-readable.
void prepare_data_dir(const config::Config& cfg) {
  std::filesystem::create_directories(cfg.server.data_dir);
  ::chmod(cfg.server.data_dir.c_str(), 0750);
}

void drop_privileges(const config::Config& cfg) {
  if (::geteuid() != 0 || cfg.server.user.empty()) return;
  struct passwd* pw = ::getpwnam(cfg.server.user.c_str());
  if (!pw)
    throw std::runtime_error(fmt::format("server.user: no such user \"{}\"", cfg.server.user));
  std::error_code ec;
  for (auto& entry : std::filesystem::recursive_directory_iterator(cfg.server.data_dir, ec)) {
    (void)::lchown(entry.path().c_str(), pw->pw_uid, pw->pw_gid);
  }
  (void)::chown(cfg.server.data_dir.c_str(), pw->pw_uid, pw->pw_gid);
  if (::initgroups(pw->pw_name, pw->pw_gid) != 0 || ::setgid(pw->pw_gid) != 0 ||
      ::setuid(pw->pw_uid) != 0)
    throw std::runtime_error(fmt::format("cannot drop privileges to \"{}\"", cfg.server.user));
  if (::setuid(0) == 0) throw std::runtime_error("privileges were not dropped");
  spdlog::info("event=privileges_dropped user={}", cfg.server.user);
}

// Each idle session holds one descriptor; let the configured connection limit be reachable.
void raise_fd_limit() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

std::unique_ptr<journal::LogWriter> make_log_writer(const config::Config& cfg) {
  bool protocol = cfg.delivery.protocol_log;
  for (auto& l : cfg.listeners) protocol |= l.protocol_log;
  if (!protocol && !cfg.log.tracking) return nullptr;
  journal::LogOptions o;
  o.directory = cfg.log_dir();
  o.tracking = cfg.log.tracking;
  o.max_file_bytes = cfg.log.max_file_bytes;
  o.rotate_interval_s = cfg.log.rotate_interval_s;
  o.max_age_days = cfg.log.max_age_days;
  o.max_total_bytes = cfg.log.max_total_bytes;
  o.queue_lines = cfg.log.queue_lines;
  return std::make_unique<journal::LogWriter>(std::move(o));
}

// server/shutdown.hpp steps 1-3, then the end of the event loop.
asio::awaitable<void> stop_on_signal(asio::io_context& io, asio::signal_set& signals,
                                     ListenerSet& listeners, SessionRegistry& sessions) {
  co_await shutdown_on_signal(
      signals, [&listeners] { listeners.close(); }, sessions,
      [&listeners] {
        return std::chrono::seconds(listeners.generation()->cfg->server.shutdown_grace_s);
      });
  io.stop();
}

// server/reload.hpp, once per SIGHUP, until the shutdown.
asio::awaitable<void> reload_on_hangup(asio::signal_set& hangups, Reloader& reloader) {
  for (;;) {
    auto [ec, sig] = co_await hangups.async_wait(use_tuple);
    if (ec) co_return;
    (void)sig;
    reloader.reload();
  }
}

}  // namespace

int run_server(const config::Config& cfg, std::function<config::Config()> reload_config) {
  spdlog::set_level(spdlog::level::from_str(cfg.server.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
  bool pid_written = false;
  try {
    notify_status("starting");
    prepare_data_dir(cfg);
    raise_fd_limit();
    asio::io_context io(1);
    // Caught from here on (Asio keeps a signal until it is waited for): a SIGHUP or SIGTERM that
    // comes while the server starts must not end it with the default action.
    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::signal_set hangups(io, SIGHUP);
    auto directory = directory::open_directory(cfg);

    // The first generation: the configuration as given, and its TLS context.
    auto first = std::make_shared<Generation>();
    first->number = 1;
    first->cfg = std::make_shared<const config::Config>(cfg);
    first->tls = make_listener_tls(cfg);

    ListenerSet listeners(io);
    listeners.bind(cfg);
    // Once a port accepts, `mailroom reload` may come: its signal waits in `hangups` for the
    // event loop. The status first, so that the command never takes "started" for its answer.
    write_reload_status(cfg.server.data_dir, {0, true, "started"});
    write_pid_file(cfg.server.data_dir);
    pid_written = true;
    drop_privileges(cfg);

    // The protocol and tracking logs' writer: running before the first event, gone after the last.
    auto log_writer = make_log_writer(cfg);
    journal::install_writer(log_writer.get());
    struct Uninstall {
      ~Uninstall() { journal::install_writer(nullptr); }
    } uninstall;

    notify_status("opening the queue");
    auto queue = queue::QueueRuntime::start(cfg, directory);
    asio::thread_pool blocking_pool(2);
    ConnectionCounts counts;
    SessionRegistry sessions;
    ClientLedger ledger(std::chrono::seconds(cfg.limits.client_rate_window_s),
                        std::chrono::seconds(cfg.limits.auth_client_window_s));
    const ListenerServices services{directory, &queue->queue(), &blocking_pool,
                                    &counts,   &ledger,         &sessions};
    listeners.activate(first, services);
    for (const auto& l : cfg.listeners)
      spdlog::info("event=listening listener={} address={} tls={} auth={} relay={}", l.name,
                   l.address, config::to_string(l.tls), config::to_string(l.auth),
                   config::to_string(l.relay));
    Reloader reloader(listeners, services, reload_config, sessions, cfg.server.data_dir);

    if (!cfg.metrics.address.empty()) {
      start_metrics_endpoint(io, cfg.metrics.address);
      util::metrics().callback_gauge("mailroom_queue_messages", "Messages in the queue by state",
                                     {"state"}, [q = queue.get()] {
                                       auto d = q->depth();
                                       return std::vector<std::pair<util::Labels, double>>{
                                           {{"ready"}, static_cast<double>(d.ready)},
                                           {{"deferred"}, static_cast<double>(d.deferred)},
                                           {{"in_flight"}, static_cast<double>(d.in_flight)}};
                                     });
    }
    asio::co_spawn(io, stop_on_signal(io, signals, listeners, sessions), asio::detached);
    asio::co_spawn(io, reload_on_hangup(hangups, reloader), asio::detached);
    spdlog::info("event=started hostname={} data_dir={}", cfg.server.hostname, cfg.server.data_dir);
    // Every acceptor is listening (connections already queue in the kernel's backlog), the queue
    // takes new mail (its backlog is read back beside it) and the signal handler is in place: a
    // client connecting now gets its banner.
    notify_status(fmt::format("accepting mail on {} listener(s)", cfg.listeners.size()));
    notify_ready();
    io.run();  // until every session has ended after a signal
    blocking_pool.join();
    notify_status("stopping: finishing queue commits and deliveries");
    queue->stop();  // commits are answered and deliveries in flight finish first
    remove_pid_file(cfg.server.data_dir);
    spdlog::info("event=stopped");
    return 0;
  } catch (const std::exception& e) {
    notify_status(fmt::format("failed: {}", e.what()));
    spdlog::critical("mailroom: {}", e.what());
    if (pid_written) remove_pid_file(cfg.server.data_dir);
    return 1;
  }
}

}  // namespace mailroom::server
