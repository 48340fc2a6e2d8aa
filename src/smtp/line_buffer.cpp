#include "smtp/line_buffer.hpp"

namespace mailroom::smtp {

LineBuffer::LineBuffer(std::size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

void LineBuffer::append(std::string_view bytes) {
  if (head_ > 0) {  // drop consumed lines before growing
    buf_.erase(0, head_);
    scanned_ -= head_;
    head_ = 0;
  }
  if (discarding_) {
    std::size_t lf = bytes.find('\n');
    if (lf == std::string_view::npos) return;
    // The kept prefix plus this LF now forms the complete (truncated) first line.
    buf_.push_back('\n');
    discarding_ = false;
    bytes.remove_prefix(lf + 1);
  }
  buf_.append(bytes);
  bound_partial_line();
}

// Only the first line may be cut: bytes after a complete line could be a DATA/BDAT body.
void LineBuffer::bound_partial_line() {
  if (discarding_ || first_line_truncated_) return;
  std::size_t lf = buf_.find('\n', scanned_);
  if (lf != std::string_view::npos) return;
  scanned_ = buf_.size();
  // max + 1 octets may still be a line of exactly max octets whose CR arrived before its LF.
  if (buf_.size() - head_ <= max_line_bytes_ + 1) return;
  buf_.erase(0, head_);
  head_ = 0;
  buf_.resize(max_line_bytes_);
  scanned_ = buf_.size();
  discarding_ = true;
  first_line_truncated_ = true;
}

std::optional<LineBuffer::Line> LineBuffer::next_line() {
  if (discarding_) return std::nullopt;
  std::size_t lf = buf_.find('\n', scanned_);
  if (lf == std::string::npos) {
    scanned_ = buf_.size();
    bound_partial_line();
    return std::nullopt;
  }
  Line line;
  std::size_t end = lf;
  if (first_line_truncated_) {
    line.too_long = true;
    first_line_truncated_ = false;
  } else {
    if (end > head_ && buf_[end - 1] == '\r') --end;
    if (end - head_ > max_line_bytes_) {
      line.too_long = true;
      end = head_ + max_line_bytes_;
    }
  }
  line.text.assign(buf_, head_, end - head_);
  head_ = lf + 1;
  scanned_ = head_;
  if (head_ == buf_.size()) {
    buf_.clear();
    head_ = scanned_ = 0;
  }
  return line;
}

std::size_t LineBuffer::buffered() const { return buf_.size() - head_; }

std::string LineBuffer::take_buffered() {
  std::string rest = buf_.substr(head_);
  clear();
  return rest;
}

void LineBuffer::clear() {
  buf_.clear();
  head_ = scanned_ = 0;
  discarding_ = false;
  first_line_truncated_ = false;
}

}  // namespace mailroom::smtp
