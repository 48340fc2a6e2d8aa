// queue/spare_files: queue files kept for reuse instead of unlinked.
//
// A delivered message's queue file is renamed into queue_dir/spare/ and emptied, and the group
// commit renames a spare into incoming/ for the next message instead of creating a new file. The
// file system then neither frees nor allocates an inode per message. That matters most on ext4
// without a journal (this machine, bench/ANALYSIS.md): it will not reuse an inode freed in the
// last minute, so with mail churn every create scanned past thousands of recently freed inodes
// (find_inode_bit → recently_deleted: up to a sixth of the server's CPU). Elsewhere it still saves
// an inode allocation, an eviction and an unlink per message.
//
// Safety: a spare is only ever a file whose message left the queue (all recipients final), and it
// is renamed out of messages/ before it is emptied, so a crash at any point leaves either the
// intact queue file in messages/ (recovered; the Maildir copy named after its id keeps it from
// being delivered twice, as after any crash before the unlink) or a stray file in spare/, which
// start-up removes. A taken spare is opened with O_TRUNC, so nothing of an earlier message can
// leak into a new one. Thread-safe; holds at most `max_spares` files, unlinking the rest.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "queue/queue_file.hpp"

namespace mailroom::queue {

class SpareFiles {
 public:
  // Removes whatever a previous run left in spare/ (their state after a crash is unknown).
  SpareFiles(const QueuePaths& paths, std::size_t max_spares);
  SpareFiles(const SpareFiles&) = delete;
  SpareFiles& operator=(const SpareFiles&) = delete;

  // `path` (a queue file in messages/) leaves the queue: kept as a spare, or unlinked.
  void recycle(const std::string& path);
  // Renames a spare to `target` (never over an existing file) and opens it empty for writing;
  // -1 when there is none or `target` exists (the caller then creates the file, O_EXCL).
  int take(const std::string& target);

  std::size_t size() const;

 private:
  std::string spare_dir_;
  std::size_t max_spares_;
  mutable std::mutex mutex_;
  std::vector<std::string> spares_;  // names in spare_dir_
  std::uint64_t next_name_ = 0;
};

}  // namespace mailroom::queue
