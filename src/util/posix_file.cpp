#include "util/posix_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace mailroom::util {

std::error_code last_error() { return {errno, std::system_category()}; }

UniqueFd::~UniqueFd() { reset(); }

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

int UniqueFd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

std::error_code write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    if (n == 0) return std::make_error_code(std::errc::no_space_on_device);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

std::error_code pread_all(int fd, char* buf, std::size_t n, std::uint64_t offset) {
  while (n > 0) {
    ssize_t got = ::pread(fd, buf, n, static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    if (got == 0) return std::make_error_code(std::errc::no_message_available);
    buf += got;
    n -= static_cast<std::size_t>(got);
    offset += static_cast<std::uint64_t>(got);
  }
  return {};
}

std::error_code fsync_directory(const std::string& dir) {
  UniqueFd f(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!f.valid()) return last_error();
  if (::fsync(f.get()) != 0) return last_error();
  return {};
}

std::string parent_directory(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::error_code make_directories(const std::string& path, mode_t mode) {
  std::vector<std::string> missing;
  for (std::string d = path; !d.empty() && d != "/" && d != "." && !is_directory(d);) {
    missing.push_back(d);
    auto slash = d.find_last_of('/');
    if (slash == std::string::npos) break;
    d = d.substr(0, slash);
  }
  std::reverse(missing.begin(), missing.end());
  for (const auto& dir : missing) {
    if (::mkdir(dir.c_str(), mode) == 0) {
      if (auto ec = fsync_directory(parent_directory(dir))) return ec;
    } else if (errno != EEXIST) {
      return last_error();
    }
  }
  return {};
}

std::vector<std::string> list_directory(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return names;
  while (auto* ent = ::readdir(d)) {
    std::string_view name = ent->d_name;
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  ::closedir(d);
  return names;
}

}  // namespace mailroom::util
