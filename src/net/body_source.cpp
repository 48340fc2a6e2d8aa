#include "net/body_source.hpp"

#include <fcntl.h>

#include <algorithm>

namespace mailroom::net {

FileBodySource::FileBodySource(std::string path, std::uint64_t offset, std::uint64_t length,
                               std::string prefix)
    : path_(std::move(path)), offset_(offset), length_(length), prefix_(std::move(prefix)) {}

std::error_code FileBodySource::rewind() {
  pos_ = 0;
  return {};
}

std::error_code FileBodySource::next(std::string& out, std::size_t max_bytes) {
  out.clear();
  if (pos_ < prefix_.size()) {
    out.assign(std::string_view(prefix_).substr(pos_, max_bytes));
    pos_ += out.size();
    return {};
  }
  const std::uint64_t done = pos_ - prefix_.size();
  if (done >= length_) return {};
  if (!fd_.valid()) {
    fd_.reset(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd_.valid()) return util::last_error();
  }
  auto n = static_cast<std::size_t>(std::min<std::uint64_t>(max_bytes, length_ - done));
  out.resize(n);
  if (auto ec = util::pread_all(fd_.get(), out.data(), n, offset_ + done)) {
    out.clear();
    return ec;
  }
  pos_ += n;
  return {};
}

}  // namespace mailroom::net
