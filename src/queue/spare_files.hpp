// queue/spare_files: queue files kept for reuse instead of unlinked.
//
// A delivered message's queue file is renamed into queue_dir/spare/, and the group commit renames
// a spare into incoming/ for the next message instead of creating a new file, writes the new
// message over the old bytes and cuts the file to the new length. The file system then neither
// frees nor allocates an inode per message, and for messages of similar size not even data blocks
// (why that matters, on this machine's ext4 without a journal above all: bench/ANALYSIS.md).
//
// Safety: a spare is only ever a file whose message left the queue (all recipients final), so a
// crash leaves either its intact queue file in messages/ (recovered; the Maildir copy named after
// its id keeps it from being delivered twice) or a stray file in spare/, which start-up removes.
// The taker must cut the file to what it wrote before the rename into messages/ and the fsync, so
// nothing of an earlier message survives past the new footer; a file torn by a power cut fails its
// footer or checksum like any torn queue file (spool/queue_file.hpp). One power cut passes both:
// the rename reached the disk and none of the new bytes did, so the file is still the old message,
// whole. Its envelope names the old id, so recovery (runtime.cpp) quarantines it instead of
// delivering it again. Spares hold delivered mail until reused, in the queue directory (mode
// 0700, like the queue itself), at most `max_spares` files; the rest are unlinked. Thread-safe.
//
// Never: hands out a spare whose message is still queued, or renames over an existing file.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "spool/queue_file.hpp"

namespace mailroom::queue {

class SpareFiles {
 public:
  // Removes whatever a previous run left in spare/ (their state after a crash is unknown).
  SpareFiles(const spool::QueuePaths& paths, std::size_t max_spares);
  SpareFiles(const SpareFiles&) = delete;
  SpareFiles& operator=(const SpareFiles&) = delete;

  // `path` (a queue file in messages/) leaves the queue: kept as a spare, or unlinked.
  void recycle(const std::string& path);
  // Renames a spare to `target` (never over an existing file) and opens it for writing at offset
  // 0, old content still in place: the caller overwrites it and must ftruncate() to its own
  // length. -1 when there is none or `target` exists (the caller then creates the file, O_EXCL).
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
