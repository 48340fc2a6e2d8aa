// net/body_source: where the bytes of an outbound message come from, read in chunks so that a
// large message never sits in memory whole: a range of a queue file, or a string (tests, DSNs,
// the tester's generated messages).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "util/posix_file.hpp"

namespace mailroom::net {

class BodySource {
 public:
  virtual ~BodySource() = default;
  // Replaces `out` with the next at most `max_bytes` octets; empty `out` means the end.
  virtual std::error_code next(std::string& out, std::size_t max_bytes) = 0;
  virtual std::uint64_t size() const = 0;
  // Back to the first octet (a message is sent again on another connection).
  virtual std::error_code rewind() = 0;
};

class StringBodySource final : public BodySource {
 public:
  explicit StringBodySource(std::string bytes) : bytes_(std::move(bytes)) {}
  std::error_code next(std::string& out, std::size_t max_bytes) override {
    out.assign(std::string_view(bytes_).substr(pos_, max_bytes));
    pos_ += out.size();
    return {};
  }
  std::uint64_t size() const override { return bytes_.size(); }
  std::error_code rewind() override {
    pos_ = 0;
    return {};
  }

 private:
  std::string bytes_;
  std::size_t pos_ = 0;
};

// Octets [offset, offset + length) of a file; an optional prefix goes first (header fields the
// sender adds, such as Return-Path for LMTP).
class FileBodySource final : public BodySource {
 public:
  FileBodySource(std::string path, std::uint64_t offset, std::uint64_t length,
                 std::string prefix = {});
  std::error_code next(std::string& out, std::size_t max_bytes) override;
  std::uint64_t size() const override { return prefix_.size() + length_; }
  std::error_code rewind() override;

 private:
  std::string path_;
  std::uint64_t offset_, length_;
  std::string prefix_;
  util::UniqueFd fd_;
  std::uint64_t pos_ = 0;  // over prefix + range
};

}  // namespace mailroom::net
