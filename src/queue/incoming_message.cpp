#include "queue/incoming_message.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "util/posix_file.hpp"

namespace mailroom::queue {

SpoolingMessage::SpoolingMessage(Envelope env, const spool::QueuePaths& paths,
                                 std::size_t memory_limit_bytes)
    : file_id_(env.id),
      incoming_path_(paths.incoming_file(env.id)),
      memory_limit_(memory_limit_bytes) {
  envelope = std::move(env);
}

SpoolingMessage::~SpoolingMessage() {
  if (fd_ >= 0) ::close(fd_);
  if (owns_file_) ::unlink(incoming_path_.c_str());
}

void SpoolingMessage::release_file() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  owns_file_ = false;
}

std::error_code SpoolingMessage::spill() {
  fd_ = ::open(incoming_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd_ < 0) return {errno, std::system_category()};
  owns_file_ = true;
  auto ec = util::write_all(fd_, buffer_);
  std::string().swap(buffer_);
  return ec;
}

std::error_code SpoolingMessage::append(std::string_view bytes) {
  if (error_) return error_;
  size_ += bytes.size();
  hasher_.update(bytes);
  if (fd_ < 0 && buffer_.size() + bytes.size() <= memory_limit_) {
    buffer_.append(bytes);
    return {};
  }
  if (fd_ < 0) {
    if ((error_ = spill())) return error_;
  }
  error_ = util::write_all(fd_, bytes);
  return error_;
}

}  // namespace mailroom::queue
