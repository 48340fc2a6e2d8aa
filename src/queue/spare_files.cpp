#include "queue/spare_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <unistd.h>

namespace mailroom::queue {

SpareFiles::SpareFiles(const spool::QueuePaths& paths, std::size_t max_spares)
    : spare_dir_(paths.spare_dir()), max_spares_(max_spares) {
  if (DIR* d = ::opendir(spare_dir_.c_str())) {
    while (auto* entry = ::readdir(d)) {
      std::string name = entry->d_name;
      if (name != "." && name != "..") ::unlink((spare_dir_ + "/" + name).c_str());
    }
    ::closedir(d);
  }
}

void SpareFiles::recycle(const std::string& path) {
  std::string name;
  {
    std::lock_guard lock(mutex_);
    if (spares_.size() < max_spares_) name = std::to_string(next_name_++);
  }
  if (name.empty()) {
    ::unlink(path.c_str());
    return;
  }
  const std::string spare = spare_dir_ + "/" + name;
  if (::rename(path.c_str(), spare.c_str()) != 0) {
    ::unlink(path.c_str());
    return;
  }
  std::lock_guard lock(mutex_);
  spares_.push_back(name);
}

int SpareFiles::take(const std::string& target) {
  for (;;) {
    std::string name;
    {
      std::lock_guard lock(mutex_);
      if (spares_.empty()) return -1;
      name = std::move(spares_.back());
      spares_.pop_back();
    }
    const std::string spare = spare_dir_ + "/" + name;
    // Never over an existing file, as O_EXCL guarantees for a newly created one.
    if (::renameat2(AT_FDCWD, spare.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0) {
      if (errno == EEXIST) {
        std::lock_guard lock(mutex_);
        spares_.push_back(name);
        return -1;
      }
      ::unlink(spare.c_str());
      continue;
    }
    int fd = ::open(target.c_str(), O_WRONLY | O_CLOEXEC);  // overwritten, then cut to size
    if (fd >= 0) return fd;
    ::unlink(target.c_str());
  }
}

std::size_t SpareFiles::size() const {
  std::lock_guard lock(mutex_);
  return spares_.size();
}

}  // namespace mailroom::queue
