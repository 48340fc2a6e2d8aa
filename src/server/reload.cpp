#include "server/reload.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "config/config_diff.hpp"
#include "net/tls_context.hpp"
#include "server/service_notify.hpp"

namespace mailroom::server {

std::shared_ptr<asio::ssl::context> make_listener_tls(const config::Config& cfg) {
  bool wants_tls = false;
  for (const auto& l : cfg.listeners) wants_tls |= l.tls != config::TlsMode::None;
  // Configured files that cannot be used are an error (net/tls_context.hpp): a server without
  // the TLS its listeners promise only looks healthy. A generated default certificate that fails
  // is logged, and STARTTLS answers 454.
  net::check_tls_files(cfg.tls);
  if (!wants_tls) return nullptr;
  try {
    return net::make_tls_context(cfg);
  } catch (const std::exception& e) {
    if (!cfg.tls.cert_file.empty()) throw;
    spdlog::error("event=tls_unavailable error=\"{}\"", e.what());
    return nullptr;
  }
}

ReloadStatus Reloader::reload() {
  notify_reloading();  // systemd: RELOADING=1 until READY=1 says the reload is over
  auto status = attempt();
  notify_ready();
  if (status.ok)
    spdlog::info("event=reloaded attempt={} result=\"{}\"", status.attempt, status.line);
  else
    spdlog::error("event=reload_failed attempt={} error=\"{}\"", status.attempt, status.line);
  write_reload_status(data_dir_, status);
  return status;
}

ReloadStatus Reloader::attempt() {
  ReloadStatus status{++attempts_, false, ""};
  auto refuse = [&](const std::string& why) {
    status.line = "reload refused, nothing changed: " + why;
    return status;
  };
  if (sessions_.shutting_down()) return refuse("the server is shutting down");
  const auto running = listeners_.generation();
  auto next = std::make_shared<Generation>();
  next->number = running->number + 1;
  std::shared_ptr<const config::Config> cfg;
  std::vector<std::string> restart;
  try {
    const auto wanted = load_();
    restart = config::keys_needing_restart(*running->cfg, wanted);
    cfg = std::make_shared<const config::Config>(config::reloaded_config(*running->cfg, wanted));
    next->cfg = cfg;
    next->tls = make_listener_tls(*cfg);
  } catch (const std::exception& e) {
    return refuse(e.what());
  }
  ListenerChanges changes;
  try {
    changes = listeners_.activate(next, services_);
  } catch (const std::exception& e) {
    return refuse(e.what());
  }
  spdlog::set_level(spdlog::level::from_str(cfg->server.log_level));
  status.ok = true;
  status.line = fmt::format("reloaded: listeners added [{}], kept [{}], removed [{}]",
                            fmt::join(changes.added, ", "), fmt::join(changes.kept, ", "),
                            fmt::join(changes.removed, ", "));
  if (!restart.empty())
    status.line += fmt::format("; left as they were until a restart: {}", fmt::join(restart, ", "));
  return status;
}

}  // namespace mailroom::server
