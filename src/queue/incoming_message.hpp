// queue/incoming_message: the IncomingMessage the queue hands to a session.
//
// Bytes stay in memory up to `memory_limit_bytes`; past that everything is written to
// queue_dir/incoming/<id> and further appends go straight to that file, so a session's memory is
// bounded whatever the message size. A write error (ENOSPC, EIO, EDQUOT) is returned from
// append() and sticks: the message can then only be discarded. Destroying an uncommitted message
// removes its spill file. Owned by one session (not thread-safe) until handed to commit().
#pragma once

#include <string>

#include "queue/queue.hpp"
#include "spool/queue_file.hpp"

namespace mailroom::queue {

inline constexpr std::size_t kDefaultMemoryLimitBytes = 256 * 1024;

class SpoolingMessage final : public IncomingMessage {
 public:
  SpoolingMessage(Envelope envelope, const spool::QueuePaths& paths,
                  std::size_t memory_limit_bytes = kDefaultMemoryLimitBytes);
  ~SpoolingMessage() override;
  SpoolingMessage(const SpoolingMessage&) = delete;
  SpoolingMessage& operator=(const SpoolingMessage&) = delete;

  std::error_code append(std::string_view bytes) override;
  std::uint64_t size() const override { return size_; }

  // For the committer.
  const std::string& file_id() const { return file_id_; }
  const std::string& incoming_path() const { return incoming_path_; }
  bool spilled() const { return fd_ >= 0; }
  int spill_fd() const { return fd_; }
  const std::string& memory_bytes() const { return buffer_; }
  std::error_code sticky_error() const { return error_; }
  spool::QueueFileHasher& hasher() { return hasher_; }
  // Called once the file was renamed into messages/ (or removed): the destructor must no longer
  // unlink anything.
  void release_file();

 private:
  std::error_code spill();

  std::string file_id_;
  std::string incoming_path_;
  std::size_t memory_limit_;
  std::string buffer_;
  std::uint64_t size_ = 0;
  int fd_ = -1;
  bool owns_file_ = false;
  std::error_code error_;
  spool::QueueFileHasher hasher_;
};

}  // namespace mailroom::queue
