// directory/cached_directory: the Directory the server uses, for either backend. Lookups read an
// immutable Snapshot (std::atomic<std::shared_ptr>, swapped whole), so they never wait on the
// database or on each other; a background thread polls the backend's change counter every
// poll_interval and loads a new snapshot when it moved (a `mailroom user add` in another process
// is seen within poll_interval plus one load).
//
// If a refresh fails (database briefly locked, PostgreSQL restarting) the old snapshot keeps
// serving and a warning is logged once per failure streak; opening, by contrast, fails loudly.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "directory/directory.hpp"
#include "directory/resolver.hpp"
#include "directory/snapshot.hpp"
#include "directory/store.hpp"

namespace mailroom::directory {

class CachedDirectory final : public Directory {
 public:
  static constexpr std::chrono::milliseconds kDefaultPollInterval{250};

  // Loads the first snapshot synchronously (throws StoreError), then starts the refresher.
  CachedDirectory(std::unique_ptr<Store> store, const config::Config& cfg,
                  std::chrono::milliseconds poll_interval = kDefaultPollInterval);
  ~CachedDirectory() override;
  CachedDirectory(const CachedDirectory&) = delete;
  CachedDirectory& operator=(const CachedDirectory&) = delete;

  bool is_local_domain(std::string_view domain) const override;
  std::vector<std::string> local_domains() const override;
  Resolution resolve(std::string_view address) const override;
  bool verify_password(std::string_view address, std::string_view password) const override;

  // The change counter of the snapshot lookups currently read.
  std::int64_t snapshot_version() const { return snapshot_.load()->change_counter; }

 private:
  void refresh_loop();
  void refresh_once();

  std::unique_ptr<Store> store_;  // used by the refresher thread only, after construction
  std::vector<std::string> config_domains_;
  ResolveOptions options_;
  std::chrono::milliseconds poll_interval_;
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  bool refresh_failing_ = false;

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread refresher_;
};

}  // namespace mailroom::directory
