#include "server/server.hpp"

#include <grp.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <list>

#include "directory/directory.hpp"
#include "journal/log_writer.hpp"
#include "net/tls_context.hpp"
#include "queue/runtime.hpp"
#include "server/listener.hpp"
#include "server/metrics_endpoint.hpp"
#include "util/metrics.hpp"
#include "server/shutdown.hpp"

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
                                     std::list<asio::ip::tcp::acceptor>& acceptors,
                                     SessionRegistry& sessions, std::chrono::seconds grace) {
  co_await shutdown_on_signal(signals, acceptors, sessions, grace);
  io.stop();
}

}  // namespace

int run_server(const config::Config& cfg) {
  spdlog::set_level(spdlog::level::from_str(cfg.server.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
  try {
    prepare_data_dir(cfg);
    raise_fd_limit();
    asio::io_context io(1);
    auto directory = directory::open_directory(cfg);

    std::unique_ptr<asio::ssl::context> tls;
    bool wants_tls = false;
    for (auto& l : cfg.listeners) wants_tls |= l.tls != config::TlsMode::None;
    // Configured files that cannot be used stop the start (the caller has usually refused them
    // already, net::check_tls_files): a server without the TLS its listeners promise only looks
    // healthy. A generated default certificate that fails is logged, and STARTTLS answers 454.
    net::check_tls_files(cfg.tls);
    if (wants_tls) {
      try {
        tls = net::make_tls_context(cfg);
      } catch (const std::exception& e) {
        if (!cfg.tls.cert_file.empty()) throw;
        spdlog::error("event=tls_unavailable error=\"{}\"", e.what());
      }
    }

    std::list<asio::ip::tcp::acceptor> acceptors;
    for (auto& l : cfg.listeners) acceptors.push_back(bind_listener(io, l));
    drop_privileges(cfg);

    // The protocol and tracking logs' writer: running before the first event, gone after the last.
    auto log_writer = make_log_writer(cfg);
    journal::install_writer(log_writer.get());
    struct Uninstall {
      ~Uninstall() { journal::install_writer(nullptr); }
    } uninstall;

    auto queue = queue::QueueRuntime::start(cfg, directory);
    asio::thread_pool blocking_pool(2);
    ConnectionCounts counts;
    SessionRegistry sessions;
    ClientLedger ledger(std::chrono::seconds(cfg.limits.client_rate_window_s),
                        std::chrono::seconds(cfg.limits.auth_client_window_s));
    std::list<ListenerRuntime> runtimes;
    auto acceptor = acceptors.begin();
    for (auto& l : cfg.listeners) {
      auto& rt = runtimes.emplace_back(ListenerRuntime{
          cfg, l, directory, queue->queue(), tls.get(), blocking_pool, counts, ledger,
          RecipientPolicy(l, *directory), util::parse_ranges(l.remote_ranges),
          std::make_shared<ListenerMetrics>(l.name), sessions});
      asio::co_spawn(io, accept_loop(*acceptor, rt), asio::detached);
      spdlog::info("event=listening listener={} address={} tls={} auth={} relay={}", l.name,
                   l.address, config::to_string(l.tls), config::to_string(l.auth),
                   config::to_string(l.relay));
      ++acceptor;
    }

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
    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::co_spawn(io,
                   stop_on_signal(io, signals, acceptors, sessions,
                                  std::chrono::seconds(cfg.server.shutdown_grace_s)),
                   asio::detached);
    spdlog::info("event=started hostname={} data_dir={}", cfg.server.hostname, cfg.server.data_dir);
    io.run();  // until every session has ended after a signal
    blocking_pool.join();
    queue->stop();  // commits are answered and deliveries in flight finish first
    spdlog::info("event=stopped");
    return 0;
  } catch (const std::exception& e) {
    spdlog::critical("mailroom: {}", e.what());
    return 1;
  }
}

}  // namespace mailroom::server
