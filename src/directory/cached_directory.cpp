// Snapshot-caching Directory and open_directory; see cached_directory.hpp for the contract.
#include "directory/cached_directory.hpp"

#include <spdlog/spdlog.h>

#include "directory/address.hpp"
#include "directory/password.hpp"

namespace mailroom::directory {

CachedDirectory::CachedDirectory(std::unique_ptr<Store> store, const config::Config& cfg,
                                 std::chrono::milliseconds poll_interval)
    : store_(std::move(store)),
      config_domains_(cfg.server.local_domains),
      options_(ResolveOptions::from(cfg.directory)),
      poll_interval_(poll_interval) {
  snapshot_.store(
      std::make_shared<const Snapshot>(Snapshot::build(store_->load(), config_domains_)));
  refresher_ = std::thread([this] { refresh_loop(); });
}

CachedDirectory::~CachedDirectory() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  refresher_.join();
}

void CachedDirectory::refresh_loop() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_cv_.wait_for(lock, poll_interval_, [this] { return stopping_; })) {
    lock.unlock();
    refresh_once();
    lock.lock();
  }
}

void CachedDirectory::refresh_once() {
  try {
    if (store_->change_counter() != snapshot_.load()->change_counter) {
      auto next =
          std::make_shared<const Snapshot>(Snapshot::build(store_->load(), config_domains_));
      spdlog::info("directory: reloaded change={} users={} aliases={} domains={}",
                   next->change_counter, next->password_hashes.size(), next->aliases.size(),
                   next->domains.size());
      snapshot_.store(std::move(next));
    }
    if (refresh_failing_) spdlog::info("directory: {} reachable again", store_->describe());
    refresh_failing_ = false;
  } catch (const std::exception& e) {
    if (!refresh_failing_)
      spdlog::warn("directory: refresh failed, serving the last snapshot: {}", e.what());
    refresh_failing_ = true;
  }
}

bool CachedDirectory::is_local_domain(std::string_view domain) const {
  auto canonical = canonical_domain(domain);
  return canonical && snapshot_.load()->is_local_domain(*canonical);
}

std::vector<std::string> CachedDirectory::local_domains() const {
  return snapshot_.load()->domains;
}

Resolution CachedDirectory::resolve(std::string_view address) const {
  return resolve_address(*snapshot_.load(), address, options_);
}

bool CachedDirectory::verify_password(std::string_view address, std::string_view password) const {
  auto snapshot = snapshot_.load();
  const std::string* hash = &dummy_password_hash();
  // A bare login name ("logon", as in the seeds' AUTH LOGIN dialogue) names a mailbox in the
  // first local domain, like Dovecot's auth_default_realm.
  std::string qualified;
  if (address.find('@') == std::string_view::npos && !snapshot->domains.empty()) {
    qualified = std::string(address) + "@" + snapshot->domains.front();
    address = qualified;
  }
  auto parts = parse_mailbox_address(address);
  if (parts) {
    auto it = snapshot->password_hashes.find(parts->joined());
    if (it != snapshot->password_hashes.end()) hash = &it->second;
  }
  // The dummy hash matches no password anyone knows, but verifying it costs the same.
  bool ok = verify_password_hash(*hash, password);
  return ok && hash != &dummy_password_hash();
}

std::shared_ptr<Directory> open_directory(const config::Config& cfg) {
  // StoreError is a std::runtime_error: one line naming the database and what is wrong.
  return std::make_shared<CachedDirectory>(open_store(cfg), cfg);
}

}  // namespace mailroom::directory
