// util/posix_file: the few POSIX file operations every stage that writes mail needs, done once.
//
// Durability is the queue's and the mailboxes' whole promise, so the rules live here: a file is
// durable after fsync/fdatasync of its descriptor; a name (create, rename, unlink) is durable
// after fsync of the directory holding it. `make_directories` is `mkdir -p` that fsyncs each
// parent it changed, so a freshly created layout survives a power cut too.
// Errors are returned as std::error_code (errno, system category), never thrown.
// Never: retries anything but EINTR, or treats a short write as success.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace mailroom::util {

// errno as an error_code.
std::error_code last_error();

// An owned file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release();
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// write(2) until done, retrying EINTR; a write of 0 bytes is reported as ENOSPC.
std::error_code write_all(int fd, std::string_view bytes);
// pread(2) exactly n bytes at `offset`; a file that ends first is std::errc::no_message_available
// (ENODATA), so callers can tell a short file from an I/O error.
std::error_code pread_all(int fd, char* buf, std::size_t n, std::uint64_t offset);

// fsync(2) of a directory: makes creates, renames and unlinks in it durable.
std::error_code fsync_directory(const std::string& dir);
// mkdir -p with `mode` for what it creates, fsyncing the parent of every directory it created.
std::error_code make_directories(const std::string& path, mode_t mode = 0700);

bool is_directory(const std::string& path);
// Names in `dir` without "." and ".."; empty when it cannot be read.
std::vector<std::string> list_directory(const std::string& dir);

// The parent of a path as written ("a/b" -> "a", "/a" -> "/", "a" -> ".").
std::string parent_directory(const std::string& path);

}  // namespace mailroom::util
